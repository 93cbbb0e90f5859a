//! Diagnostics for recipes and profiles: a message tied to a span of a source file, rendered the way
//! rustc and cargo render theirs (`path:line:col`, the line, a caret under the span).

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A file's text, kept so diagnostics can point into it.
#[derive(Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Arc<Self> {
        Arc::new(SourceFile { path: path.into(), text: text.into() })
    }

    /// A file read as bytes: UTF-8 text, or an error pointing at the first byte that is not.
    pub fn decode(path: impl Into<PathBuf>, bytes: Vec<u8>) -> Result<Arc<Self>, Box<Diagnostic>> {
        let path = path.into();
        match String::from_utf8(bytes) {
            Ok(text) => Ok(SourceFile::new(path, text)),
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let byte = e.as_bytes()[at];
                // The text before `at` is valid, so the lossy copy has the same offsets up to there.
                let file = SourceFile::new(path, String::from_utf8_lossy(e.as_bytes()).into_owned());
                let d = Diagnostic::error(format!("not UTF-8 text: byte 0x{byte:02x} is not valid UTF-8"))
                    .at(&file, at..at + 1)
                    .label("not UTF-8")
                    .note("recipes and profiles must be UTF-8");
                Err(Box::new(d))
            }
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let before = &self.text[..offset];
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[line_start..].chars().count() + 1)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// One finding about a recipe or profile: what is wrong, where, and what else is relevant.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    pub file: Option<Arc<SourceFile>>,
    /// The primary span in `file`, as byte offsets.
    pub span: Option<Range<usize>>,
    /// Text under the caret.
    pub label: Option<String>,
    /// Secondary spans in the same file (e.g. where a group was opened).
    pub related: Vec<(Range<usize>, String)>,
    /// Trailing notes: the chain of packages that led here, how to fix it.
    pub notes: Vec<String>,
    /// A path to name when there is no file text to point into (a missing file, a directory).
    pub path: Option<PathBuf>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            file: None,
            span: None,
            label: None,
            related: Vec::new(),
            notes: Vec::new(),
            path: None,
        }
    }

    pub fn warning(message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(message) }
    }

    pub fn at(mut self, file: &Arc<SourceFile>, span: Range<usize>) -> Self {
        self.file = Some(file.clone());
        self.span = Some(span);
        self
    }

    pub fn in_file(mut self, file: &Arc<SourceFile>) -> Self {
        self.file = Some(file.clone());
        self
    }

    pub fn in_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn related(mut self, span: Range<usize>, label: impl Into<String>) -> Self {
        self.related.push((span, label.into()));
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// A TOML syntax or type error in `file`, at the span the parser gives.
    pub fn from_toml(file: &Arc<SourceFile>, e: &toml::de::Error) -> Self {
        let d = Diagnostic::error(e.message().trim_end()).in_file(file);
        let Some(span) = e.span() else { return d };
        match bare_word(&file.text, &span) {
            // toml reads an unquoted word as a misspelt `true` or `false`; say what was meant.
            Some(word) => d.at(file, span).note(format!("a string value must be quoted: \"{word}\"")),
            None => d.at(file, span),
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The file this is about, if any.
    pub fn file_path(&self) -> Option<&Path> {
        self.file.as_ref().map(|f| f.path.as_path()).or(self.path.as_deref())
    }

    /// `path:line:col`, `path`, or nothing.
    pub fn location(&self) -> Option<String> {
        match (&self.file, &self.span) {
            (Some(f), Some(span)) => {
                let (line, col) = f.line_col(span.start);
                Some(format!("{}:{line}:{col}", f.path.display()))
            }
            _ => self.file_path().map(|p| p.display().to_string()),
        }
    }

    /// Full rustc-style rendering with the source line and caret.
    pub fn render(&self, color: bool) -> String {
        use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};
        let level = match self.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let title = match (&self.file, &self.span) {
            (Some(_), Some(_)) => self.message.clone(),
            _ => self.headline(),
        };
        let mut group = annotate_snippets::Group::with_title(level.primary_title(title));
        if let (Some(file), Some(span)) = (&self.file, &self.span) {
            let path = file.path.to_string_lossy().into_owned();
            let span = clamp(&file.text, span.clone());
            let mut snippet = Snippet::source(file.text.as_str())
                .path(path)
                .annotation(AnnotationKind::Primary.span(span).label(self.label.as_deref().unwrap_or("")));
            for (range, label) in &self.related {
                snippet = snippet
                    .annotation(AnnotationKind::Context.span(clamp(&file.text, range.clone())).label(label));
            }
            group = group.element(snippet);
        }
        for note in &self.notes {
            group = group.element(Level::NOTE.message(note.as_str()));
        }
        let renderer = if color { Renderer::styled() } else { Renderer::plain() };
        renderer.render(&[group]).to_string()
    }

    /// One line: `path:line:col: message`.
    pub fn headline(&self) -> String {
        match self.location() {
            Some(loc) => format!("{loc}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.headline())?;
        for note in &self.notes {
            write!(f, "\n  note: {note}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// Several diagnostics as one error (what `load` returns when a tree has problems).
#[derive(Debug, Clone)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// The unquoted word a value was expected at, if `span` covers one.
fn bare_word<'a>(text: &'a str, span: &Range<usize>) -> Option<&'a str> {
    let word = text.get(span.clone())?;
    let before = text.get(..span.start)?.trim_end_matches([' ', '\t']);
    let is_word = word.chars().next().is_some_and(|c| c.is_alphabetic())
        && word.chars().all(|c| c.is_alphanumeric() || "-_./+:@".contains(c));
    (is_word && before.ends_with(['=', '[', ',']) && !matches!(word, "true" | "false")).then_some(word)
}

fn clamp(text: &str, span: Range<usize>) -> Range<usize> {
    let start = floor_char_boundary(text, span.start.min(text.len()));
    let end = floor_char_boundary(text, span.end.clamp(start, text.len()));
    start..end
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let f = SourceFile::new("x.toml", "a = 1\nbé = \"x\"\n");
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(6), (2, 1));
        assert_eq!(f.line_col(11), (2, 5));
    }

    #[test]
    fn headline_names_file_line_and_column() {
        let f = SourceFile::new("recipes/a/b/b-1.toml", "x = 1\nrun = \"( a/b\"\n");
        let d = Diagnostic::error("expected `)`").at(&f, 13..14);
        assert_eq!(d.headline(), "recipes/a/b/b-1.toml:2:8: expected `)`");
    }

    #[test]
    fn render_shows_the_line_and_a_caret() {
        let f = SourceFile::new("p.toml", "run = \"( a/b\"\n");
        let d = Diagnostic::error("expected `)`")
            .at(&f, 12..13)
            .label("here")
            .related(7..8, "group opened here")
            .note("fix it");
        let out = d.render(false);
        assert!(out.contains("p.toml:1:13"), "{out}");
        assert!(out.contains("run = \"( a/b\""), "{out}");
        assert!(out.contains("^"), "{out}");
        assert!(out.contains("group opened here"), "{out}");
        assert!(out.contains("note: fix it"), "{out}");
    }

    #[test]
    fn non_utf8_text_is_refused_at_its_first_bad_byte() {
        let d = SourceFile::decode("r.toml", b"a = 1\nb = \"caf\xe9\"\n".to_vec()).unwrap_err();
        assert_eq!(d.headline(), "r.toml:2:9: not UTF-8 text: byte 0xe9 is not valid UTF-8");
        assert!(d.render(false).contains("not UTF-8"));
        assert_eq!(SourceFile::decode("r.toml", b"a = 1".to_vec()).unwrap().text, "a = 1");
    }

    #[test]
    fn unquoted_words_in_toml_get_a_hint_to_quote_them() {
        let f = SourceFile::new("r.toml", "description = Foo\n");
        let e = toml::from_str::<toml::Table>(&f.text).unwrap_err();
        let d = Diagnostic::from_toml(&f, &e);
        assert!(d.headline().starts_with("r.toml:1:15: "), "{}", d.headline());
        assert_eq!(d.notes, vec!["a string value must be quoted: \"Foo\"".to_string()]);
        let f = SourceFile::new("r.toml", "a = \"x\"\na = \"y\"\n");
        let e = toml::from_str::<toml::Table>(&f.text).unwrap_err();
        let d = Diagnostic::from_toml(&f, &e);
        assert!(d.headline().starts_with("r.toml:2:1: duplicate key"), "{}", d.headline());
        assert!(d.notes.is_empty());
    }

    #[test]
    fn spans_past_the_end_do_not_panic() {
        let f = SourceFile::new("p.toml", "é");
        let d = Diagnostic::error("x").at(&f, 1..99);
        assert!(d.render(false).contains("p.toml"));
    }
}
