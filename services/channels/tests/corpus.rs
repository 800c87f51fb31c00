//! The MIME corpus (`tests/fixtures/email`): charsets, structures, replies with quoted
//! history, auto-replies, bulk mail, bounces and malformed mail, each parsed for real.

use copilot_channels::{Kind, ParseError, parse};

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/email").join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[test]
fn utf8_mail_with_an_encoded_name() {
    let mail = parse(&fixture("plain-utf8.eml")).expect("parse");
    assert_eq!(mail.message_id, "plain-utf8-1@example.test");
    assert_eq!(mail.from.address, "zoe.li@example.test", "addresses are lower-cased");
    assert_eq!(mail.from.name.as_deref(), Some("Zoë Li"));
    assert_eq!(mail.subject, "Where is my order?");
    assert_eq!(mail.new_text, "Hello, my order #1234 has not arrived yet. Can you check? Zoë");
    assert_eq!(mail.recipients, vec!["help@acme.test"]);
    assert!(mail.date.is_some());
    assert_eq!(mail.kind, Kind::Personal);
}

#[test]
fn html_only_mail_becomes_text() {
    let mail = parse(&fixture("html-only.eml")).expect("parse");
    assert!(mail.text.contains("I need an invoice for order 5678 & a receipt."), "{}", mail.text);
    assert!(!mail.text.contains('<') && !mail.text.contains("color:red"), "{}", mail.text);
}

#[test]
fn chinese_and_japanese_charsets_are_decoded() {
    let cases = [
        ("gbk-base64.eml", "订单没有收到", "张伟", "你好，我的订单还没有到，请帮我查一下物流。谢谢！"),
        ("gb18030-qp.eml", "发票", "Li Na", "请问可以开发票吗？订单号：8899。€ 符号也要显示。"),
        ("big5.eml", "退貨申請", "陳小明", "您好，我想退貨，請問流程是什麼？"),
        ("iso-2022-jp.eml", "配送について", "山田太郎", "こんにちは。注文した商品がまだ届きません。"),
    ];
    for (name, subject, sender, text) in cases {
        let mail = parse(&fixture(name)).expect(name);
        assert_eq!(mail.subject, subject, "{name}");
        assert_eq!(mail.from.name.as_deref(), Some(sender), "{name}");
        assert_eq!(mail.new_text, text, "{name}");
    }
}

#[test]
fn latin1_quoted_printable() {
    let mail = parse(&fixture("latin1-qp.eml")).expect("parse");
    assert_eq!(mail.subject, "Échange de taille");
    assert_eq!(mail.from.name.as_deref(), Some("Hélène Müller"));
    assert!(mail.new_text.contains("échanger ma veste"), "{}", mail.new_text);
}

#[test]
fn multipart_mail_keeps_its_text_once_and_its_attachment() {
    let mail = parse(&fixture("attachment.eml")).expect("parse");
    assert_eq!(mail.new_text, "The lamp arrived broken, see the attached report.");
    assert_eq!(mail.attachments.len(), 1);
    let pdf = &mail.attachments[0];
    assert_eq!(pdf.filename.as_deref(), Some("report.pdf"));
    assert_eq!(pdf.content_type, "application/pdf");
    assert!(pdf.content.starts_with(b"%PDF-1.4"));
}

#[test]
fn quoted_history_is_stripped_from_replies() {
    let gmail = parse(&fixture("reply-gmail.eml")).expect("parse");
    assert_eq!(gmail.new_text, "It still has not arrived, it is the blue backpack.");
    assert!(gmail.text.contains("your order is on its way"), "the full text is kept");
    assert_eq!(gmail.in_reply_to, vec!["{{PARENT}}"]);

    let chinese = parse(&fixture("reply-chinese.eml")).expect("parse");
    assert_eq!(chinese.subject, "回复：订单");
    assert_eq!(chinese.new_text, "好的，收到了，谢谢！");

    let outlook = parse(&fixture("reply-outlook.eml")).expect("parse");
    assert_eq!(outlook.new_text, "Can I get a refund instead?");
    assert_eq!(outlook.references, vec!["{{ROOT}}", "{{PARENT}}"]);
}

#[test]
fn automatic_and_bulk_mail_is_recognised() {
    assert_eq!(parse(&fixture("auto-reply.eml")).expect("parse").kind, Kind::AutoReply);
    assert_eq!(parse(&fixture("bulk.eml")).expect("parse").kind, Kind::Bulk);
}

#[test]
fn a_bounce_names_the_returned_message() {
    let mail = parse(&fixture("bounce.eml")).expect("parse");
    match mail.kind {
        Kind::Bounce { original_message_ids, reason } => {
            assert_eq!(original_message_ids, vec!["{{BOUNCED}}"]);
            assert!(reason.starts_with("5.1.1"), "{reason}");
            assert!(reason.contains("mailbox unavailable"), "{reason}");
        }
        other => panic!("not a bounce: {other:?}"),
    }
}

#[test]
fn malformed_mail_is_refused_with_a_reason_or_read_best_effort() {
    assert_eq!(parse(b""), Err(ParseError::Empty));
    assert_eq!(parse(b" \r\n "), Err(ParseError::Empty));
    assert_eq!(parse(&fixture("malformed-no-headers.eml")).map(|_| ()), Err(ParseError::NotAMessage));
    assert_eq!(parse(&fixture("malformed-no-from.eml")).map(|_| ()), Err(ParseError::NoSender));

    let broken = parse(&fixture("malformed-broken-parts.eml")).expect("read best-effort");
    assert_eq!(broken.new_text, "The text part is fine.");

    let raw = fixture("no-message-id.eml");
    let without_id = parse(&raw).expect("parse");
    assert!(without_id.message_id.starts_with("sha256-"), "{}", without_id.message_id);
    assert_eq!(parse(&raw).expect("parse").message_id, without_id.message_id, "stable for a redelivery");
    assert_eq!(without_id.new_text, "Plain words survive an unknown charset label.");

    // NUL characters (which databases refuse) and absurd Message-IDs are dropped.
    let long_id = "x".repeat(2000);
    let hostile = format!(
        "From: =?UTF-8?B?QQBC?= <a@example.test>\r\nSubject: =?UTF-8?B?c3ViAGplY3Q=?=\r\nMessage-ID: <{long_id}@example.test>\r\n\r\nnul\0here\r\n"
    );
    let mail = parse(hostile.as_bytes()).expect("parse");
    assert_eq!(mail.subject, "subject");
    assert_eq!(mail.from.name.as_deref(), Some("AB"));
    assert_eq!(mail.new_text, "nulhere");
    assert!(mail.message_id.starts_with("sha256-"), "{}", mail.message_id);
}

#[test]
fn truncated_and_corrupted_mail_never_panics() {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/email");
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut cases = 0;
    for entry in std::fs::read_dir(folder).expect("the corpus") {
        let raw = std::fs::read(entry.expect("an entry").path()).expect("a fixture");
        for cut in (0..raw.len()).step_by(7) {
            let _ = parse(&raw[..cut]);
            cases += 1;
        }
        for _ in 0..200 {
            let mut bytes = raw.clone();
            for _ in 0..4 {
                let at = (next() as usize) % bytes.len().max(1);
                if let Some(byte) = bytes.get_mut(at) {
                    *byte = next() as u8;
                }
            }
            if let Ok(mail) = parse(&bytes) {
                assert!(!mail.message_id.is_empty());
                assert!(mail.from.address.contains('@'));
            }
            cases += 1;
        }
    }
    assert!(cases > 3000, "{cases} cases");
}

#[test]
fn header_values_are_one_line_and_thread_ids_bounded() {
    // "Eve\r\nBcc: x@evil.test" and a subject with a line break, in RFC 2047 words.
    let mut raw = String::from(
        "From: =?utf-8?B?RXZlDQpCY2M6IHhAZXZpbC50ZXN0?= <eve@example.test>\r\n\
         To: help@acme.test\r\n\
         Subject: =?utf-8?B?SGkNClgtRXZpbDogMQ==?=\r\n\
         Message-ID: <m1@example.test>\r\n\
         References:",
    );
    for n in 0..70_000 {
        raw.push_str(&format!(" <r{n}@example.test>"));
    }
    raw.push_str("\r\n\r\nWhere is my parcel?\r\n");
    let email = copilot_channels::parse(raw.as_bytes()).expect("parse");
    assert_eq!(email.from.name.as_deref(), Some("Eve Bcc: x@evil.test"));
    assert_eq!(email.subject, "Hi X-Evil: 1");
    assert_eq!(email.references.len(), copilot_channels::inbound::MAX_THREAD_IDS);
    assert_eq!(email.references.first().map(String::as_str), Some("r0@example.test"));
    assert_eq!(email.references.last().map(String::as_str), Some("r69999@example.test"));

    let spoofed = b"From: \"Eve\" <eve\r\n@example.test>\r\nSubject: x\r\n\r\nhello\r\n";
    assert!(copilot_channels::parse(spoofed).is_err(), "an address with a line break is no sender");
}

#[test]
fn a_mail_of_headers_only_is_empty() {
    let headers_only = b"From: eve@example.test\r\nTo: help@acme.test\r\nMessage-ID: <h1@example.test>\r\n\r\n";
    assert_eq!(parse(headers_only), Err(ParseError::Empty));
    let subject_only = b"From: eve@example.test\r\nSubject: Refund please\r\n\r\n";
    assert_eq!(parse(subject_only).map(|mail| mail.subject), Ok("Refund please".to_owned()));
}
