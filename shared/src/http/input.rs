//! The request body extractor every API uses. It accepts JSON, urlencoded forms and multipart
//! forms (the seed logs in with `curl -F`), and turns every way a body can be wrong into an
//! `ApiError`: malformed → 400, wrong or missing fields → 422 naming them, too large → 413.

use axum::extract::{FromRequest, Multipart, Request};
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{ApiError, FieldError};

/// Largest request body any FinFlow API accepts.
pub const BODY_LIMIT: usize = 64 * 1024;

/// A request body of type `T`, read from JSON or from form fields.
#[derive(Debug)]
pub struct Input<T>(pub T);

enum BodyKind {
    Json,
    UrlEncoded,
    Multipart,
}

fn body_kind(request: &Request) -> Result<BodyKind, ApiError> {
    let Some(content_type) = request.headers().get(CONTENT_TYPE) else {
        return Ok(BodyKind::Json);
    };
    let media_type = content_type
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match media_type.as_str() {
        "application/json" => Ok(BodyKind::Json),
        t if t.starts_with("application/") && t.ends_with("+json") => Ok(BodyKind::Json),
        "application/x-www-form-urlencoded" => Ok(BodyKind::UrlEncoded),
        "multipart/form-data" => Ok(BodyKind::Multipart),
        other => Err(ApiError::UnsupportedMediaType(format!(
            "Content type {other} is not supported; send application/json"
        ))),
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Input<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match body_kind(&request)? {
            BodyKind::Json => {
                let bytes = read_body(request, state).await?;
                parse_json(&bytes).map(Input)
            }
            BodyKind::UrlEncoded => {
                let bytes = read_body(request, state).await?;
                let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
                    .map_err(|_| ApiError::BadRequest("Malformed form body".into()))?;
                parse_fields(pairs).map(Input)
            }
            BodyKind::Multipart => {
                let mut multipart = Multipart::from_request(request, state)
                    .await
                    .map_err(|e| ApiError::BadRequest(format!("Malformed multipart body: {e}")))?;
                let mut pairs = Vec::new();
                loop {
                    let field = multipart.next_field().await.map_err(multipart_error)?;
                    let Some(field) = field else { break };
                    let name = field.name().unwrap_or_default().to_owned();
                    let text = field.text().await.map_err(multipart_error)?;
                    pairs.push((name, text));
                }
                parse_fields(pairs).map(Input)
            }
        }
    }
}

fn multipart_error(error: axum::extract::multipart::MultipartError) -> ApiError {
    if error.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge(BODY_LIMIT)
    } else {
        ApiError::BadRequest(format!("Malformed multipart body: {}", error.body_text()))
    }
}

async fn read_body<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(BODY_LIMIT)
            } else {
                ApiError::BadRequest("Could not read the request body".into())
            }
        })
}

/// Parses JSON, telling syntax errors (400) from well-formed JSON of the wrong shape (422).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest(
            "A JSON request body is required".into(),
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let inner = error.inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::BadRequest(format!("Malformed JSON body: {inner}"))
        } else {
            ApiError::Validation(vec![field_error(
                error.path().to_string(),
                &inner.to_string(),
            )])
        }
    })?;
    deserializer
        .end()
        .map_err(|_| ApiError::BadRequest("Malformed JSON body: trailing characters".into()))?;
    Ok(value)
}

fn parse_fields<T: DeserializeOwned>(pairs: Vec<(String, String)>) -> Result<T, ApiError> {
    let object: Map<String, Value> = pairs
        .into_iter()
        .map(|(name, value)| (name, Value::String(value)))
        .collect();
    serde_path_to_error::deserialize(Value::Object(object)).map_err(|error| {
        ApiError::Validation(vec![field_error(
            error.path().to_string(),
            &error.inner().to_string(),
        )])
    })
}

/// An id in a JSON body (`#[serde(deserialize_with = "whole_number")]`): a JSON number whose
/// value is a whole number, however it is written. JSON has one number type, and JSON Schema,
/// the language of the API documents (`type: integer`), calls `7.0` the integer 7; clients whose
/// numbers are all floats (JavaScript's) may write it so. A fraction is refused, and so is a
/// float beyond 2^53, where a float no longer tells one integer from the next.
pub fn whole_number<'de, D, Id>(deserializer: D) -> Result<Id, D::Error>
where
    D: serde::Deserializer<'de>,
    Id: From<u64>,
{
    use serde::Deserialize;
    use serde::de::Error;
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    let number = serde_json::Number::deserialize(deserializer)?;
    if let Some(whole) = number.as_u64() {
        return Ok(Id::from(whole));
    }
    match number.as_f64() {
        Some(value) if value.fract() == 0.0 && (0.0..=EXACT).contains(&value) => {
            Ok(Id::from(value as u64))
        }
        _ => Err(D::Error::custom(format!(
            "must be a whole number from 0 to {}, not {number}",
            u64::MAX
        ))),
    }
}

/// Serde says "missing field `email` at line 1 column 2"; clients want `email: is required`.
fn field_error(path: String, message: &str) -> FieldError {
    let without_position = message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_owned();
    if let Some(rest) = without_position.strip_prefix("missing field `") {
        let name = rest.trim_end_matches('`');
        let field = if path == "." {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        };
        return FieldError::new(field, "is required");
    }
    let field = if path == "." { "body".to_owned() } else { path };
    FieldError::new(field, without_position)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Login {
        #[allow(dead_code)]
        email: String,
        #[allow(dead_code)]
        attempts: u32,
    }

    #[derive(Debug, Deserialize)]
    struct Transfer {
        #[serde(deserialize_with = "whole_number")]
        id: u64,
    }

    #[test]
    fn ids_are_whole_numbers_however_written() {
        for (text, id) in [
            ("7", 7),
            ("7.0", 7),
            ("7e0", 7),
            ("70e-1", 7),
            ("18446744073709551615", u64::MAX),
        ] {
            let body = format!(r#"{{"id": {text}}}"#);
            assert_eq!(
                parse_json::<Transfer>(body.as_bytes()).unwrap().id,
                id,
                "{text}"
            );
        }
        for text in [
            "7.5",
            "-1",
            "1e300",
            "18446744073709551616",
            "\"7\"",
            "null",
        ] {
            let body = format!(r#"{{"id": {text}}}"#);
            let error = parse_json::<Transfer>(body.as_bytes()).unwrap_err();
            assert!(
                matches!(error, ApiError::Validation(_)),
                "{text}: {error:?}"
            );
        }
    }

    #[test]
    fn syntax_errors_are_400() {
        let error = parse_json::<Login>(b"{\"email\": ").unwrap_err();
        assert!(matches!(error, ApiError::BadRequest(_)), "{error:?}");
        let error = parse_json::<Login>(b"").unwrap_err();
        assert!(matches!(error, ApiError::BadRequest(_)));
    }

    #[test]
    fn missing_and_mistyped_fields_are_named() {
        let error = parse_json::<Login>(br#"{"attempts": 1}"#).unwrap_err();
        let ApiError::Validation(errors) = error else {
            panic!("{error:?}")
        };
        assert_eq!(errors, vec![FieldError::new("email", "is required")]);
        let error = parse_json::<Login>(br#"{"email": "a@b.c", "attempts": "x"}"#).unwrap_err();
        let ApiError::Validation(errors) = error else {
            panic!("{error:?}")
        };
        assert_eq!(errors[0].field, "attempts");
    }

    #[test]
    fn form_fields_parse_into_the_same_types() {
        #[derive(Deserialize)]
        struct Credentials {
            username: String,
        }
        let parsed: Credentials = parse_fields(vec![("username".into(), "a@b.c".into())]).unwrap();
        assert_eq!(parsed.username, "a@b.c");
    }
}
