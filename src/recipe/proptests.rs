//! Property test for the whole recipe loader: TOML-ish documents made of the recipe's own keys,
//! sections and value shapes, glued at random, never panic the loader, and every diagnostic points
//! inside the file and renders.

use super::parse_recipe_text;
use proptest::prelude::*;
use std::path::Path;

/// Keys of one section, with a misspelt one now and then.
fn key(section: &'static str) -> impl Strategy<Value = &'static str> {
    let (keys, typo): (Vec<&'static str>, &'static str) = match section {
        "" => (vec!["description", "homepage", "license", "slot", "iuse", "required_use"], "descripton"),
        "[depend]" => (vec!["build", "host", "run", "post"], "runtime"),
        "[[source]]" => (vec!["urls", "file", "sha256"], "url"),
        "[build]" => (vec!["dir", "system", "prepare", "configure", "kernel_config"], "configur"),
        _ => (vec!["\"/usr/bin/su\"", "\"/var/lib/x/\"", "bin"], "\"\""),
    };
    prop_oneof![12 => prop::sample::select(keys), 1 => Just(typo)]
}

fn value() -> impl Strategy<Value = String> {
    let word = r#"[a-z0-9/<>=~!:*\[\](),?+_.@^| -]{0,24}"#;
    let spec = r"(!{0,2}[<>=~]{0,2}[a-z]{1,3}/[a-z]{1,3}(-[0-9.]{1,4}\*?)?(:[0-9=*/]{0,3})?(\[[a-z!?=,()+-]{0,6}\])?|\|\||\(|\)|[a-z]{1,3}\?|\^\^|\?\?)";
    prop_oneof![
        word.prop_map(|s| format!("\"{s}\"")),
        prop::collection::vec(spec, 0..8).prop_map(|v| format!("\"{}\"", v.join(" "))),
        word.prop_map(|s| format!("'{s}'")),
        word.prop_map(|s| format!("\"\"\"\n{s}\"\"\"")),
        r#"[a-zé\\"]{0,8}"#.prop_map(|s| format!("\"{s}\"")),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("true".to_string()),
        prop::collection::vec(word, 0..3).prop_map(|v| format!(
            "[{}]",
            v.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", ")
        )),
        Just(format!("\"{}\"", "0".repeat(64))),
        r"[a-z]{1,6}",
    ]
}

/// A section: its header (none for the top level) and a few lines, each key once, now and then a
/// stray line.
fn section(header: &'static str) -> impl Strategy<Value = String> {
    let line = prop_oneof![
        16 => (key(header), value()).prop_map(|(k, v)| (k.to_string(), format!("{k} = {v}"))),
        1 => r"[ -~]{0,12}".prop_map(|l| (String::new(), l)),
    ];
    prop::collection::vec(line, 0..5).prop_map(move |lines| {
        let mut seen = std::collections::HashSet::new();
        let kept: Vec<String> = lines
            .into_iter()
            .filter(|(k, _)| k.is_empty() || seen.insert(k.clone()))
            .map(|(_, l)| l)
            .collect();
        format!("{header}\n{}\n", kept.join("\n"))
    })
}

/// Sections in the order a recipe has them, each optional.
fn document() -> impl Strategy<Value = String> {
    (
        section(""),
        prop::option::of(section("[depend]")),
        prop::collection::vec(section("[[source]]"), 0..3),
        prop::option::of(section("[build]")),
        prop::option::of(section("[build.owners]")),
    )
        .prop_map(|(top, depend, sources, build, owners)| {
            let mut doc = top;
            doc.extend(depend);
            doc.extend(sources);
            doc.extend(build);
            doc.extend(owners);
            doc
        })
}

proptest! {
    #[test]
    fn the_loader_never_panics_and_its_diagnostics_point_inside_the_file(
        document in document(),
        description_first in any::<bool>(),
    ) {
        let mut text = if description_first { "description = \"x\"\n".to_string() } else { String::new() };
        text.push_str(&document);
        if let Err(diags) = parse_recipe_text(Path::new("recipes/app-misc/foo/foo-1.0.toml"), &text) {
            prop_assert!(!diags.is_empty());
            for d in &diags {
                if let Some(span) = &d.span {
                    prop_assert!(span.start <= span.end && span.end <= text.len(), "{d}: {span:?} in {text:?}");
                }
                let _ = d.render(false);
            }
        }
    }
}
