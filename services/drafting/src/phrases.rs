//! The few fixed sentences a draft needs in the customer's language (greeting, closing,
//! hand-over), for the languages the triage models detect most; English otherwise.

struct Phrases {
    code: &'static str,
    name: &'static str,
    greeting: &'static str,
    closing: &'static str,
    /// Said when the knowledge does not answer the question.
    handover: &'static str,
}

const PHRASES: &[Phrases] = &[
    Phrases {
        code: "en",
        name: "English",
        greeting: "Hello,",
        closing: "Best regards,",
        handover: "Thank you for your message. We are looking into your question and a colleague will get back to you shortly. If you can, please send us any details that may help, such as your order number.",
    },
    Phrases {
        code: "zh",
        name: "Chinese",
        greeting: "您好，",
        closing: "祝好！",
        handover: "感谢您的来信。我们正在核实您的问题，同事会尽快回复您。如方便，请提供订单号等相关信息，以便我们更快处理。",
    },
    Phrases {
        code: "es",
        name: "Spanish",
        greeting: "Hola:",
        closing: "Saludos cordiales,",
        handover: "Gracias por su mensaje. Estamos revisando su consulta y un compañero le responderá en breve. Si puede, envíenos cualquier dato que nos ayude, como su número de pedido.",
    },
    Phrases {
        code: "fr",
        name: "French",
        greeting: "Bonjour,",
        closing: "Cordialement,",
        handover: "Merci pour votre message. Nous examinons votre demande et un collègue vous répondra rapidement. Si possible, envoyez-nous tout détail utile, comme votre numéro de commande.",
    },
    Phrases {
        code: "de",
        name: "German",
        greeting: "Guten Tag,",
        closing: "Mit freundlichen Grüßen",
        handover: "Vielen Dank für Ihre Nachricht. Wir prüfen Ihr Anliegen, und ein Kollege meldet sich in Kürze bei Ihnen. Senden Sie uns bitte alle hilfreichen Angaben, etwa Ihre Bestellnummer.",
    },
    Phrases {
        code: "pt",
        name: "Portuguese",
        greeting: "Olá,",
        closing: "Com os melhores cumprimentos,",
        handover: "Obrigado pela sua mensagem. Estamos a analisar a sua questão e um colega responderá em breve. Se possível, envie-nos detalhes que ajudem, como o número da encomenda.",
    },
    Phrases {
        code: "it",
        name: "Italian",
        greeting: "Buongiorno,",
        closing: "Cordiali saluti,",
        handover: "Grazie per il suo messaggio. Stiamo verificando la sua richiesta e un collega le risponderà a breve. Se possibile, ci invii ogni dettaglio utile, come il numero d'ordine.",
    },
    Phrases {
        code: "nl",
        name: "Dutch",
        greeting: "Hallo,",
        closing: "Met vriendelijke groet,",
        handover: "Bedankt voor uw bericht. We bekijken uw vraag en een collega neemt spoedig contact met u op. Stuur ons indien mogelijk nuttige gegevens, zoals uw bestelnummer.",
    },
    Phrases {
        code: "ja",
        name: "Japanese",
        greeting: "お問い合わせいただきありがとうございます。",
        closing: "よろしくお願いいたします。",
        handover: "ご連絡ありがとうございます。内容を確認のうえ、担当者より改めてご連絡いたします。差し支えなければ、注文番号などの詳細をお知らせください。",
    },
    Phrases {
        code: "ko",
        name: "Korean",
        greeting: "안녕하세요.",
        closing: "감사합니다.",
        handover: "문의해 주셔서 감사합니다. 내용을 확인한 뒤 담당자가 곧 답변드리겠습니다. 가능하시면 주문 번호 등 도움이 될 정보를 보내 주세요.",
    },
    Phrases {
        code: "ru",
        name: "Russian",
        greeting: "Здравствуйте!",
        closing: "С уважением,",
        handover: "Спасибо за ваше сообщение. Мы изучаем ваш вопрос, и наш сотрудник скоро с вами свяжется. Если можете, пришлите детали, например номер заказа.",
    },
];

fn phrases(language: &str) -> &'static Phrases {
    PHRASES.iter().find(|phrases| phrases.code == language).unwrap_or(&PHRASES[0])
}

/// Whether the fixed sentences exist in this language (else English is used).
pub fn supported(language: &str) -> bool {
    PHRASES.iter().any(|phrases| phrases.code == language)
}

/// The English name of a language code, for the prompt ("German"); the code itself when unknown.
pub fn language_name(language: &str) -> String {
    PHRASES
        .iter()
        .find(|phrases| phrases.code == language)
        .map_or_else(|| format!("the language with code `{language}`"), |phrases| phrases.name.to_owned())
}

pub fn greeting(language: &str) -> &'static str {
    phrases(language).greeting
}

pub fn closing(language: &str) -> &'static str {
    phrases(language).closing
}

pub fn handover(language: &str) -> &'static str {
    phrases(language).handover
}

/// The labels of an extractive summary's quotes: the customer's first and latest message.
/// English and Chinese; English otherwise.
pub fn summary_labels(language: &str) -> (&'static str, &'static str) {
    match language {
        "zh" => ("首条消息", "最新消息"),
        _ => ("First message", "Latest message"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_languages_have_their_own_phrases_and_others_fall_back_to_english() {
        assert_eq!(greeting("zh"), "您好，");
        assert_eq!(closing("de"), "Mit freundlichen Grüßen");
        assert_eq!(greeting("sw"), "Hello,");
        assert!(supported("ja") && !supported("sw"));
        assert_eq!(language_name("fr"), "French");
    }
}
