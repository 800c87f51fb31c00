"""Writes FAQ documents for ingestion benchmarks: N CSV files of ROWS question/answer
pairs each, composed from word lists with a fixed seed (answers of 40 to 70 words, like a
help centre's).

Usage: python3 faq_corpus.py DIR N ROWS
"""

import csv
import pathlib
import random
import sys

VERBS = ["change", "cancel", "return", "track", "update", "pay for", "upgrade", "exchange", "reorder", "gift-wrap"]
THINGS = ["an order", "a subscription", "my delivery address", "a damaged item", "a gift card", "my invoice",
          "a pre-order", "the warranty", "my account email", "a bulk purchase"]
STEPS = ["Open your account and choose Orders.", "Select the item and press the button next to it.",
         "We send a confirmation e-mail within a few minutes.", "Refunds reach your card in 5 to 10 working days.",
         "If the option is greyed out, the parcel has already left our warehouse.",
         "Our support team answers every day from 8 am to 8 pm.", "Keep the original packaging if you can.",
         "Orders over $50 ship for free within the country.", "You can also do this from the mobile app.",
         "Business customers can ask their account manager instead.",
         "The change applies to the next billing period.", "Attach a photo so that we can help you faster."]


def main() -> None:
    folder, documents, rows = pathlib.Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    for document in range(documents):
        with open(folder / f"faq-{document:02d}.csv", "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["question", "answer"])
            for row in range(rows):
                question = f"How do I {rng.choice(VERBS)} {rng.choice(THINGS)} ({document}-{row})?"
                answer = " ".join(rng.sample(STEPS, rng.randint(4, 6)))
                writer.writerow([question, answer])


if __name__ == "__main__":
    main()
