//! JSON request bodies read strictly: where the spec declares a string, only a JSON string
//! is accepted.
//!
//! poem-openapi's `Json<T>` reads a `String` field from a JSON number or boolean too
//! (`{"subject": 123}` would store `"123"`), and its parse errors name the DTO, not the
//! field. [`JsonBody`] checks the body against the same schema the spec publishes before
//! parsing it, and refuses a number or a boolean in a string field with `400 invalid_body`
//! naming the field (`subject`, `customer.email`, `tags[1]`). It is the same request body
//! as `Json<T>` in the spec: same content type, same schema.
//!
//! Architecture invariant: every operation that reads a JSON body reads it as
//! `JsonBody<T>`, never as poem-openapi's `Json<T>` (which stays for responses).

use poem::{FromRequest, Request, RequestBody};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    error::{ContentTypeError, ParseRequestPayloadError},
    payload::{Json, ParsePayload, Payload},
    registry::{MetaRequest, MetaSchema, MetaSchemaRef, Registry},
    types::{ParseFromJSON, Type},
};
use serde_json::Value;

/// A JSON request body whose string fields were JSON strings.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: Type> Payload for JsonBody<T> {
    const CONTENT_TYPE: &'static str = <Json<T> as Payload>::CONTENT_TYPE;

    fn check_content_type(content_type: &str) -> bool {
        <Json<T> as Payload>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        <Json<T> as Payload>::schema_ref()
    }

    fn register(registry: &mut Registry) {
        <Json<T> as Payload>::register(registry);
    }
}

impl<T: ParseFromJSON> ParsePayload for JsonBody<T> {
    const IS_REQUIRED: bool = T::IS_REQUIRED;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let data = <Vec<u8> as FromRequest>::from_request(request, body).await?;
        let value = if data.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&data).map_err(|error| ParseRequestPayloadError { reason: error.to_string() })?
        };
        if let Some((field, found)) = first_non_string::<T>(&value) {
            return Err(ParseRequestPayloadError {
                reason: format!("field `{field}` must be a JSON string, found {found}"),
            }
            .into());
        }
        let value = T::parse_from_json(Some(value))
            .map_err(|error| ParseRequestPayloadError { reason: error.into_message() })?;
        Ok(Self(value))
    }
}

impl<'a, T: ParseFromJSON> ApiExtractor<'a> for JsonBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <Json<T> as ApiExtractor<'a>>::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        <Json<T> as ApiExtractor<'a>>::request_meta()
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _options: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        match request.content_type() {
            Some(content_type) if Self::check_content_type(content_type) => {
                <Self as ParsePayload>::from_request(request, body).await
            }
            Some(content_type) => Err(ContentTypeError::NotSupported { content_type: content_type.to_owned() }.into()),
            // An optional body may be left out altogether (`curl -X POST` sends no type).
            None if !T::IS_REQUIRED => <Self as ParsePayload>::from_request(request, body).await,
            None => Err(ContentTypeError::ExpectContentType.into()),
        }
    }
}

/// The first field of `value` (in the schema's order) that `T`'s schema declares a string
/// and that holds a number or a boolean: its path and its value.
fn first_non_string<T: Type>(value: &Value) -> Option<(String, &Value)> {
    let mut registry = Registry::new();
    T::register(&mut registry);
    find_non_string(value, &T::schema_ref(), &registry, "")
}

fn find_non_string<'v>(
    value: &'v Value,
    schema: &MetaSchemaRef,
    registry: &Registry,
    path: &str,
) -> Option<(String, &'v Value)> {
    let schema: &MetaSchema = match schema {
        MetaSchemaRef::Inline(schema) => schema,
        MetaSchemaRef::Reference(name) => registry.schemas.get(name)?,
    };
    // A documented reference is `allOf: [the reference]`; the value must match every part.
    if let Some(found) = schema.all_of.iter().find_map(|part| find_non_string(value, part, registry, path)) {
        return Some(found);
    }
    match value {
        Value::Number(_) | Value::Bool(_) if schema.ty == "string" => {
            Some((if path.is_empty() { "body".to_owned() } else { path.to_owned() }, value))
        }
        Value::Object(fields) => {
            let declared = schema.properties.iter().find_map(|(name, field_schema)| {
                let field = fields.get(*name)?;
                find_non_string(field, field_schema, registry, &join(path, name))
            });
            declared.or_else(|| {
                let additional = schema.additional_properties.as_deref()?;
                fields
                    .iter()
                    .filter(|(name, _)| !schema.properties.iter().any(|(declared, _)| declared == name))
                    .find_map(|(name, field)| find_non_string(field, additional, registry, &join(path, name)))
            })
        }
        Value::Array(items) => {
            let item_schema = schema.items.as_deref()?;
            items
                .iter()
                .enumerate()
                .find_map(|(index, item)| find_non_string(item, item_schema, registry, &format!("{path}[{index}]")))
        }
        _ => None,
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use poem_openapi::{Enum, Object, types::MaybeUndefined};
    use serde_json::json;

    use super::*;

    #[derive(Debug, Object)]
    struct Person {
        email: String,
        name: Option<String>,
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
    #[oai(rename_all = "snake_case")]
    enum Mood {
        Calm,
    }

    #[derive(Debug, Object)]
    struct Sample {
        subject: String,
        count: Option<i32>,
        urgent: Option<bool>,
        /// A documented nested object.
        person: Option<Person>,
        #[oai(default)]
        tags: Vec<String>,
        note: MaybeUndefined<String>,
        mood: Option<Mood>,
        labels: Option<BTreeMap<String, String>>,
        data: Option<serde_json::Value>,
    }

    fn found(value: Value) -> Option<(String, Value)> {
        first_non_string::<Sample>(&value).map(|(path, found)| (path, found.clone()))
    }

    #[test]
    fn strings_numbers_booleans_and_nulls_where_declared_pass() {
        let body = json!({
            "subject": "123", "count": 3, "urgent": true, "person": {"email": "a@b.test", "name": null},
            "tags": ["a", "b"], "note": null, "mood": "calm", "labels": {"k": "v"}, "data": {"any": [1, true]},
        });
        assert_eq!(found(body), None);
    }

    #[test]
    fn a_number_or_a_boolean_in_a_string_field_is_named() {
        assert_eq!(found(json!({"subject": 123})), Some(("subject".into(), json!(123))));
        assert_eq!(found(json!({"subject": true})), Some(("subject".into(), json!(true))));
        assert_eq!(found(json!({"subject": 1e308})), Some(("subject".into(), json!(1e308))));
        assert_eq!(found(json!({"subject": "s", "note": false})), Some(("note".into(), json!(false))));
    }

    #[test]
    fn nested_fields_array_items_and_map_values_are_named_by_path() {
        assert_eq!(found(json!({"person": {"email": 5}})), Some(("person.email".into(), json!(5))));
        assert_eq!(found(json!({"tags": ["a", 7]})), Some(("tags[1]".into(), json!(7))));
        assert_eq!(found(json!({"labels": {"k": false}})), Some(("labels.k".into(), json!(false))));
    }

    #[test]
    fn enum_fields_are_strings_too() {
        assert_eq!(found(json!({"mood": 1})), Some(("mood".into(), json!(1))));
    }

    #[test]
    fn the_first_field_in_declaration_order_is_named() {
        assert_eq!(found(json!({"tags": [1], "subject": 2})), Some(("subject".into(), json!(2))));
    }

    #[test]
    fn a_bare_string_body_is_named_body() {
        assert_eq!(first_non_string::<String>(&json!(1)), Some(("body".into(), &json!(1))));
    }

    async fn read(body: &str) -> poem::Result<JsonBody<Sample>> {
        let (request, mut body) = Request::builder().content_type("application/json").body(body.to_owned()).split();
        <JsonBody<Sample> as ApiExtractor>::from_request(&request, &mut body, ExtractParamOptions::default()).await
    }

    #[tokio::test]
    async fn a_valid_body_parses_as_with_json() {
        let body = read(r#"{"subject": "hi", "tags": ["x"], "note": null}"#).await.expect("a valid body");
        assert_eq!(body.0.subject, "hi");
        assert_eq!(body.0.tags, vec!["x".to_owned()]);
        assert!(body.0.note.is_null());
    }

    #[tokio::test]
    async fn a_number_for_a_string_is_a_payload_error_naming_the_field() {
        let error = read(r#"{"subject": 123}"#).await.expect_err("refused");
        assert!(error.is::<ParseRequestPayloadError>());
        assert_eq!(error.status(), poem::http::StatusCode::BAD_REQUEST);
        assert!(error.to_string().contains("field `subject` must be a JSON string, found 123"), "{error}");
    }

    #[tokio::test]
    async fn other_parse_errors_keep_the_parsers_message() {
        let error = read(r#"{"count": 1}"#).await.expect_err("subject is missing");
        assert!(error.is::<ParseRequestPayloadError>());
        assert!(error.to_string().contains("Sample"), "{error}");
    }

    #[tokio::test]
    async fn an_optional_body_may_be_left_out_without_a_content_type_and_a_required_one_may_not() {
        let (request, mut body) = Request::builder().finish().split();
        let optional = <JsonBody<Option<Sample>> as ApiExtractor>::from_request(
            &request,
            &mut body,
            ExtractParamOptions::default(),
        )
        .await;
        assert!(optional.is_ok_and(|body| body.0.is_none()));
        let (request, mut body) = Request::builder().finish().split();
        let required =
            <JsonBody<Sample> as ApiExtractor>::from_request(&request, &mut body, ExtractParamOptions::default()).await;
        assert!(required.is_err_and(|error| error.is::<ContentTypeError>()));
    }

    #[test]
    fn the_spec_entry_is_the_same_as_json() {
        let strict = <JsonBody<Sample> as ApiExtractor>::request_meta().expect("a request body");
        let plain = <Json<Sample> as ApiExtractor>::request_meta().expect("a request body");
        assert_eq!(strict, plain);
    }
}
