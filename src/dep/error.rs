//! The one error type of every PMS parser: a message plus byte spans into the parsed text.

use std::ops::Range;

/// A syntax error in a version, atom, dependency specification, REQUIRED_USE or IUSE string.
///
/// `span` is a byte range into the string that was parsed (always on `char` boundaries), so a
/// caller that knows where that string sits in a file can print `file:line:col` and a caret.
/// `related` points at a second place that explains the first, such as the `(` of a group whose
/// `)` is missing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub span: Range<usize>,
    pub message: String,
    pub related: Option<(Range<usize>, String)>,
}

impl ParseError {
    pub(crate) fn new(span: Range<usize>, message: impl Into<String>) -> Self {
        ParseError { span, message: message.into(), related: None }
    }

    pub(crate) fn with_related(mut self, span: Range<usize>, label: impl Into<String>) -> Self {
        self.related = Some((span, label.into()));
        self
    }

    /// Shifts every span by `by` bytes: for text parsed out of a larger string.
    pub fn offset(mut self, by: usize) -> Self {
        self.span = self.span.start + by..self.span.end + by;
        if let Some((span, _)) = &mut self.related {
            *span = span.start + by..span.end + by;
        }
        self
    }
}

/// The span of the `char` starting at byte `at` of `s` (empty at the end of `s`).
pub(crate) fn char_span(s: &str, at: usize) -> Range<usize> {
    let len = s[at..].chars().next().map_or(0, char::len_utf8);
    at..at + len
}

/// The `char` starting at byte `at`, for messages; `at` must be a char boundary inside `s`.
pub(crate) fn char_at(s: &str, at: usize) -> char {
    s[at..].chars().next().unwrap_or(' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_shifts_both_spans() {
        let err = ParseError::new(1..2, "bad").with_related(0..1, "here").offset(10);
        assert_eq!(err.span, 11..12);
        assert_eq!(err.related, Some((10..11, "here".to_string())));
        assert_eq!(err.to_string(), "bad");
    }

    #[test]
    fn char_span_covers_a_whole_multibyte_char() {
        assert_eq!(char_span("aҘb", 1), 1..3);
        assert_eq!(char_span("ab", 2), 2..2);
        assert_eq!(char_at("aҘb", 1), 'Ҙ');
    }
}
