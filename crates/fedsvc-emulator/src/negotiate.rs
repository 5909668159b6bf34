//! Which encoding an answer is written in, from the request's `Accept` header: JSON, or
//! Kubernetes' Protocol Buffers when the client prefers them and the answer's kind is mapped.

use crate::api_failure::ApiFailure;
use crate::protobuf::MEDIA_TYPE;

/// An answer's encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Json,
    Protobuf,
}

/// What [`negotiate`] chose: the encoding, and whether the client would take JSON too (so
/// that an answer that cannot be encoded in Protocol Buffers after all can fall back to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Choice {
    pub(crate) encoding: Encoding,
    pub(crate) json_too: bool,
}

impl Choice {
    /// JSON, for requests without an `Accept` header.
    pub(crate) const JSON: Choice = Choice {
        encoding: Encoding::Json,
        json_too: true,
    };
}

/// One media range of an `Accept` header.
struct Range<'a> {
    media: String,
    /// The `as=` parameter (`Table`, `PartialObjectMetadata`), if any.
    as_kind: Option<&'a str>,
    /// The quality, in thousandths.
    q: u16,
    /// 0 for `*/*`, 1 for `type/*`, 2 for a full media type.
    specificity: u8,
}

/// The media ranges of an `Accept` header, most preferred first: by quality, then by how
/// specific they are (`*/*` last), then in the order given.
fn ranges(accept: &str) -> Vec<Range<'_>> {
    let mut out: Vec<Range<'_>> = accept
        .split(',')
        .filter_map(|range| {
            let mut parts = range.split(';');
            let media = parts.next()?.trim().to_ascii_lowercase();
            if media.is_empty() {
                return None;
            }
            let mut q = 1000;
            let mut as_kind = None;
            for p in parts {
                let Some((k, v)) = p.split_once('=') else {
                    continue;
                };
                match k.trim() {
                    "q" => q = quality(v.trim()),
                    "as" => as_kind = Some(v.trim()),
                    _ => {}
                }
            }
            let specificity = match media.as_str() {
                "*/*" => 0,
                m if m.ends_with("/*") => 1,
                _ => 2,
            };
            Some(Range {
                media,
                as_kind,
                q,
                specificity,
            })
        })
        .collect();
    out.sort_by(|a, b| b.q.cmp(&a.q).then(b.specificity.cmp(&a.specificity)));
    out
}

/// A q-value (`0` to `1`, up to three decimals) in thousandths; an unreadable one counts as 1.
fn quality(v: &str) -> u16 {
    match v.parse::<f32>() {
        // Rounded, within 0..=1000: the cast cannot truncate.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(q) if (0.0..=1.0).contains(&q) => (q * 1000.0).round() as u16,
        _ => 1000,
    }
}

fn is_json(media: &str) -> bool {
    media == "*/*" || media == "application/*" || media.ends_with("json")
}

/// Chooses the encoding of an answer. `protobuf` says whether this answer can be written in
/// Protocol Buffers, or why not (naming the kind, or saying that watches or Tables are JSON
/// only). A header without any range the emulator can write is refused with 406, with that
/// reason.
pub(crate) fn negotiate(accept: &str, protobuf: Result<(), String>) -> Result<Choice, ApiFailure> {
    if accept.trim().is_empty() {
        return Ok(Choice::JSON);
    }
    let ranges = ranges(accept);
    let json_too = ranges.iter().any(|r| r.q > 0 && is_json(&r.media));
    let mut why_not = None;
    for r in ranges.iter().filter(|r| r.q > 0) {
        if r.media == MEDIA_TYPE {
            match (&protobuf, r.as_kind) {
                (Ok(()), None) => {
                    return Ok(Choice {
                        encoding: Encoding::Protobuf,
                        json_too,
                    });
                }
                (Err(reason), _) => why_not = Some(reason.clone()),
                (Ok(()), Some(kind)) => {
                    why_not = Some(format!(
                        "the emulator does not write {kind} in Protocol Buffers"
                    ));
                }
            }
        } else if is_json(&r.media) {
            return Ok(Choice {
                encoding: Encoding::Json,
                json_too,
            });
        }
    }
    Err(ApiFailure::not_acceptable(match why_not {
        Some(reason) => format!("{reason}; the request accepts only {accept:?}"),
        None => format!(
            "the emulator answers in JSON or in {MEDIA_TYPE}; the request accepts only {accept:?}"
        ),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choose(accept: &str) -> Result<Encoding, String> {
        negotiate(accept, Ok(()))
            .map(|c| c.encoding)
            .map_err(|f| f.message)
    }

    #[test]
    fn the_first_range_the_emulator_writes_wins() {
        use Encoding::{Json, Protobuf};
        // kubectl's typed commands.
        assert_eq!(
            choose("application/vnd.kubernetes.protobuf,application/json"),
            Ok(Protobuf)
        );
        assert_eq!(
            choose("application/vnd.kubernetes.protobuf, */*"),
            Ok(Protobuf)
        );
        // kube-rs, kubectl's dynamic commands and discovery.
        assert_eq!(choose(""), Ok(Json));
        assert_eq!(choose("application/json"), Ok(Json));
        assert_eq!(choose("application/json, */*"), Ok(Json));
        assert_eq!(choose("*/*"), Ok(Json));
        assert_eq!(
            choose("application/json, application/vnd.kubernetes.protobuf"),
            Ok(Json)
        );
        // Quality, then specificity.
        assert_eq!(
            choose("application/json;q=0.5, application/vnd.kubernetes.protobuf"),
            Ok(Protobuf)
        );
        assert_eq!(
            choose("application/vnd.kubernetes.protobuf;q=0.9, application/json"),
            Ok(Json)
        );
        assert_eq!(
            choose("*/*, application/vnd.kubernetes.protobuf"),
            Ok(Protobuf)
        );
        assert_eq!(
            choose("application/vnd.kubernetes.protobuf;q=0, application/json"),
            Ok(Json)
        );
        // A Table or metadata view in Protocol Buffers is not written; JSON after it is.
        assert_eq!(
            choose(
                "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io, application/json"
            ),
            Ok(Json)
        );
    }

    #[test]
    fn nothing_writable_is_refused_with_the_reason() {
        let e =
            choose("application/vnd.kubernetes.protobuf;q=0, application/json;q=0").unwrap_err();
        assert!(e.contains("answers in JSON or in"), "{e}");
        let e = choose("text/html").unwrap_err();
        assert!(e.contains("\"text/html\""), "{e}");
        let e = negotiate(
            "application/vnd.kubernetes.protobuf",
            Err("the emulator does not encode rbac.authorization.k8s.io/v1 Role in Protocol Buffers".into()),
        )
        .unwrap_err();
        assert_eq!(e.code, 406);
        assert!(
            e.message.contains("v1 Role in Protocol Buffers"),
            "{}",
            e.message
        );
        // The same with JSON as a second choice: JSON.
        let c = negotiate(
            "application/vnd.kubernetes.protobuf, application/json",
            Err("no".into()),
        )
        .unwrap();
        assert_eq!(c.encoding, Encoding::Json);
        let e =
            choose("application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io").unwrap_err();
        assert!(
            e.contains("does not write Table in Protocol Buffers"),
            "{e}"
        );
    }

    #[test]
    fn json_too() {
        let c = negotiate("application/vnd.kubernetes.protobuf", Ok(())).unwrap();
        assert!(!c.json_too);
        let c = negotiate("application/vnd.kubernetes.protobuf, */*;q=0.1", Ok(())).unwrap();
        assert!(c.json_too && c.encoding == Encoding::Protobuf);
    }
}
