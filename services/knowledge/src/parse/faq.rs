//! FAQ files: CSV with question and answer columns, and JSON arrays of
//! `{question, answer}`. Each pair is one block (and so one chunk).

use super::{Block, ParseError, normalize_space};
use copilot_core::model::DocumentError;

/// Column names, compared case-insensitively.
const QUESTION_COLUMNS: [&str; 5] = ["question", "q", "问题", "問題", "title"];
const ANSWER_COLUMNS: [&str; 6] = ["answer", "a", "答案", "回答", "content", "reply"];

pub fn parse_csv(text: &str) -> Result<Vec<Block>, ParseError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|error| ParseError::new(DocumentError::InvalidFaq, format!("the CSV file cannot be read: {error}")))?
        .clone();
    let position = |names: &[&str]| {
        headers.iter().position(|header| names.iter().any(|name| header.trim().eq_ignore_ascii_case(name)))
    };
    let (Some(question), Some(answer)) = (position(&QUESTION_COLUMNS), position(&ANSWER_COLUMNS)) else {
        return Err(ParseError::new(
            DocumentError::InvalidFaq,
            format!(
                "the CSV file needs a `question` and an `answer` column; its header is: {}",
                headers.iter().collect::<Vec<_>>().join(", ")
            ),
        ));
    };
    let mut blocks = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|error| {
            ParseError::new(DocumentError::InvalidFaq, format!("CSV row {} cannot be read: {error}", index + 2))
        })?;
        let field = |column: usize| normalize_space(record.get(column).unwrap_or_default());
        blocks.push(Block::QuestionAnswer { question: field(question), answer: field(answer) });
    }
    Ok(blocks)
}

#[derive(serde::Deserialize)]
struct Pair {
    question: String,
    answer: String,
}

pub fn parse_json(text: &str) -> Result<Vec<Block>, ParseError> {
    let pairs: Vec<Pair> = serde_json::from_str(text).map_err(|error| {
        ParseError::new(
            DocumentError::InvalidFaq,
            format!("the JSON file must be an array of {{\"question\", \"answer\"}} objects: {error}"),
        )
    })?;
    Ok(pairs
        .into_iter()
        .map(|pair| Block::QuestionAnswer {
            question: normalize_space(&pair.question),
            answer: normalize_space(&pair.answer),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_become_pairs_whatever_the_column_order() {
        let blocks =
            parse_csv("id,Answer,Question\n1,\"Within 30 days, unused.\",Can I return?\n2,七天内,可以退货吗\n");
        assert_eq!(
            blocks,
            Ok(vec![
                Block::QuestionAnswer { question: "Can I return?".into(), answer: "Within 30 days, unused.".into() },
                Block::QuestionAnswer { question: "可以退货吗".into(), answer: "七天内".into() },
            ])
        );
    }

    #[test]
    fn csv_without_the_columns_says_which_it_has() {
        let error = parse_csv("name,price\nPro,10\n").err().map(|e| e.message).unwrap_or_default();
        assert!(error.contains("name, price"), "{error}");
    }

    #[test]
    fn json_must_be_an_array_of_pairs() {
        assert_eq!(
            parse_json(r#"[{"question": "Q?", "answer": "A."}]"#),
            Ok(vec![Block::QuestionAnswer { question: "Q?".into(), answer: "A.".into() }])
        );
        assert!(parse_json(r#"{"question": "Q?"}"#).is_err());
        assert!(parse_json("[{").is_err());
    }
}
