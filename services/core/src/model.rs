//! Closed vocabularies of the ticket domain, each with its stored name.

named_enum!(
    /// Where a ticket stands in its life.
    TicketStatus, "invalid_status" {
        New => "new",
        Open => "open",
        Pending => "pending",
        Solved => "solved",
        Closed => "closed",
    }
);

named_enum!(
    /// How urgent a ticket is.
    Priority, "invalid_priority" {
        Low => "low",
        Normal => "normal",
        High => "high",
        Urgent => "urgent",
    }
);

named_enum!(
    /// Where a ticket came from and where replies go.
    Channel, "invalid_channel" {
        Email => "email",
        Web => "web",
        Api => "api",
        Chat => "chat",
    }
);

named_enum!(
    /// Who wrote a message: the customer, an agent (public reply) or an agent's internal note.
    Author, "invalid_author" {
        Customer => "customer",
        Agent => "agent",
        Note => "note",
    }
);

named_enum!(
    /// Where a reply draft stands: being written, ready for review, failed, or decided.
    DraftStatus, "invalid_draft_status" {
        Generating => "generating",
        Ready => "ready",
        Failed => "failed",
        Approved => "approved",
        Rejected => "rejected",
        Superseded => "superseded",
    }
);

named_enum!(
    /// How a message reads: the sentiment head's three classes.
    Sentiment, "invalid_sentiment" {
        Negative => "negative",
        Neutral => "neutral",
        Positive => "positive",
    }
);

named_enum!(
    /// How a draft was written.
    DraftMode, "invalid_draft_mode" {
        /// By the tenant's LLM, grounded in retrieved passages.
        Llm => "llm",
        /// Without an LLM: the best-matching passage in a greeting and closing.
        Extractive => "extractive",
    }
);

named_enum!(
    /// How much an agent changed a draft before sending it.
    EditClass, "invalid_edit_class" {
        Unchanged => "unchanged",
        /// At most a fifth of the characters changed.
        Light => "light",
        Heavy => "heavy",
    }
);

named_enum!(
    /// Where the triage of a customer message stands.
    TriageStatus, "invalid_triage_status" {
        Pending => "pending",
        Done => "done",
        Failed => "failed",
    }
);

named_enum!(
    /// Where a reply's e-mail delivery stands.
    DeliveryStatus, "invalid_delivery_status" {
        Queued => "queued",
        Sending => "sending",
        Sent => "sent",
        Failed => "failed",
    }
);

named_enum!(
    /// Whether a stored mail came in (a customer's) or went out (a reply).
    MailDirection, "invalid_mail_direction" {
        In => "in",
        Out => "out",
    }
);

named_enum!(
    /// What kind of mail a stored mail is: a person's, one the desk must not answer, or a reply.
    MailKind, "invalid_mail_kind" {
        Personal => "personal",
        AutoReply => "auto_reply",
        Bulk => "bulk",
        Bounce => "bounce",
        /// Sent from one of the tenant's own addresses.
        Loop => "loop",
        /// Could not be read as MIME.
        Unparseable => "unparseable",
        /// A reply the desk sent.
        Reply => "reply",
    }
);

named_enum!(
    /// What a person is doing on a ticket.
    PresenceState, "invalid_presence_state" {
        Viewing => "viewing",
        Typing => "typing",
    }
);

named_enum!(
    /// Where a knowledge document's latest version stands.
    DocumentStatus, "invalid_document_status" {
        Queued => "queued",
        Processing => "processing",
        Ready => "ready",
        Failed => "failed",
    }
);

named_enum!(
    /// Why a knowledge document's latest version failed, for programs to act on (the
    /// document's `error` says it in words).
    DocumentError, "invalid_document_error" {
        /// The file has no bytes.
        EmptyFile => "empty_file",
        /// The file reads but holds no text (only headings, or blank).
        NoText => "no_text",
        /// A PDF of images only (a scan): there is no text to read without OCR.
        NoTextLayer => "no_text_layer",
        /// Password-protected (a PDF, or a Word file saved encrypted or as a legacy .doc).
        Encrypted => "encrypted",
        /// Not a valid file of its format (a broken archive, a PDF that does not parse).
        Damaged => "damaged",
        /// A text file in none of the encodings read (UTF-8, UTF-16 with a mark, GB18030).
        UnsupportedEncoding => "unsupported_encoding",
        /// An FAQ file without the question and answer fields.
        InvalidFaq => "invalid_faq",
        /// Over a limit: pages, size once expanded, nesting, chunks or reading time.
        TooLarge => "too_large",
        /// The reader stopped unexpectedly on this file, or its worker was lost every time.
        Unreadable => "unreadable",
        /// Something around the file (the models, the vector store) failed on every attempt.
        GaveUp => "gave_up",
    }
);

named_enum!(
    /// Where an intent-model training job stands.
    TrainingStatus, "invalid_training_status" {
        Queued => "queued",
        Ready => "ready",
        Failed => "failed",
    }
);

named_enum!(
    /// What an LLM call is for: each feature has its own route through the tenant's model
    /// profiles, and its own line in the usage.
    LlmFeature, "invalid_feature" {
        /// A reply draft for a customer message.
        Draft => "draft",
        /// A ticket's summary.
        Summary => "summary",
        /// An agent's text rewritten (shorter, friendlier, …).
        Rewrite => "rewrite",
        /// A message translated.
        Translate => "translate",
        /// Customer messages labelled for the tenant's own models.
        Label => "label",
        /// A question about the tenant's data turned into a query.
        Ask => "ask",
        /// Drafts judged for evaluation.
        Judge => "judge",
    }
);

named_enum!(
    /// Which way a ticket's customer sentiment went, from the triage of their messages.
    SentimentTrend, "invalid_sentiment_trend" {
        Improving => "improving",
        Worsening => "worsening",
        Steady => "steady",
        /// Fewer than two triaged customer messages.
        Unknown => "unknown",
    }
);

named_enum!(
    /// A circuit breaker's state: closed (calls go through), open (calls are skipped until
    /// a cool-down ends) or half open (one probe call decides).
    BreakerState, "invalid_breaker_state" {
        Closed => "closed",
        Open => "open",
        HalfOpen => "half_open",
    }
);

named_enum!(
    /// Where one delivery of an event to a webhook endpoint stands.
    WebhookDeliveryStatus, "invalid_webhook_delivery_status" {
        Pending => "pending",
        Sending => "sending",
        Succeeded => "succeeded",
        Failed => "failed",
    }
);

named_enum!(
    /// How a satisfaction survey asks: a rating from 1 to 5, or good (2) or bad (1).
    CsatScale, "invalid_csat_scale" {
        Five => "five",
        Two => "two",
    }
);

named_enum!(
    /// Where a ticket's satisfaction survey stands.
    SurveyStage, "invalid_survey_stage" {
        /// The ticket was reopened before the survey went out: asked when it is solved again.
        Waiting => "waiting",
        /// To be sent at `next_attempt_at`.
        Due => "due",
        /// Sent (its link given); its e-mail waits in the outbox.
        MailQueued => "mail_queued",
        /// Its e-mail is being sent under a lease.
        MailSending => "mail_sending",
        /// Its e-mail could not be sent (never tried again by itself).
        MailFailed => "mail_failed",
        /// Sent: its e-mail went out, or its link was given in a `csat.requested` event.
        Requested => "requested",
    }
);

impl Priority {
    /// A number that sorts by urgency (low 0 … urgent 3): the inbox's priority order.
    pub fn rank(self) -> i16 {
        match self {
            Priority::Low => 0,
            Priority::Normal => 1,
            Priority::High => 2,
            Priority::Urgent => 3,
        }
    }
}

impl TicketStatus {
    /// Whether the ticket still needs the desk's work (not solved or closed).
    pub fn is_active(self) -> bool {
        !matches!(self, TicketStatus::Solved | TicketStatus::Closed)
    }

    /// The status after a message by `author` lands on a ticket in this status.
    ///
    /// A customer writing again reopens a pending or solved ticket; an agent's public
    /// reply takes a new ticket to open; internal notes never change the status.
    /// Closed tickets stay closed: the customer's next mail opens a new ticket.
    pub fn after_message(self, author: Author) -> TicketStatus {
        match (author, self) {
            (Author::Customer, TicketStatus::Pending | TicketStatus::Solved) => TicketStatus::Open,
            (Author::Agent, TicketStatus::New) => TicketStatus::Open,
            (_, status) => status,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_through_its_name() {
        for status in TicketStatus::ALL {
            assert_eq!(status.as_str().parse::<TicketStatus>().ok(), Some(*status));
        }
    }

    #[test]
    fn unknown_priority_lists_the_allowed_values() {
        let error = "asap".parse::<Priority>().err().map(|e| e.to_string());
        assert_eq!(error.as_deref(), Some("unknown Priority `asap`; expected one of: low, normal, high, urgent"));
    }

    #[test]
    fn a_customer_reply_reopens_a_solved_ticket() {
        assert_eq!(TicketStatus::Solved.after_message(Author::Customer), TicketStatus::Open);
        assert_eq!(TicketStatus::Pending.after_message(Author::Customer), TicketStatus::Open);
    }

    #[test]
    fn notes_never_change_the_status() {
        for status in TicketStatus::ALL {
            assert_eq!(status.after_message(Author::Note), *status);
        }
    }

    #[test]
    fn closed_tickets_stay_closed() {
        assert_eq!(TicketStatus::Closed.after_message(Author::Customer), TicketStatus::Closed);
    }
}
