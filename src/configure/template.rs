//! Rendering `template = true` files with minijinja. Undefined variables are errors (a typo in a
//! template must not ship an empty string in the image), and the trailing newline is kept, as a
//! config file written by hand would have it.
//!
//! The context: `hostname`, `timezone`, `profile`, `services` (names), `users` (every account of
//! the image, sorted by uid: `name uid gid gecos home shell groups`), `groups` (sorted by gid:
//! `name gid members`), and `vars` (the profile's `[system.vars]`).

use super::accounts::Accounts;
use crate::profile::system::SystemConf;
use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, UndefinedBehavior, Value};

/// Everything a template can see.
pub fn context(sys: &SystemConf, accounts: &Accounts, profile: &str) -> Value {
    let users: Vec<Value> = accounts
        .users
        .iter()
        .map(|u| {
            Value::from_pairs([
                ("name", Value::from(u.name.as_str())),
                ("uid", Value::from(u.uid)),
                ("gid", Value::from(u.gid)),
                ("gecos", Value::from(u.gecos.as_str())),
                ("home", Value::from(u.home.as_str())),
                ("shell", Value::from(u.shell.as_str())),
                ("groups", accounts.memberships(&u.name).into_iter().map(Value::from).collect()),
            ])
        })
        .collect();
    let groups: Vec<Value> = accounts
        .groups
        .iter()
        .map(|g| {
            Value::from_pairs([
                ("name", Value::from(g.name.as_str())),
                ("gid", Value::from(g.gid)),
                ("members", g.members.iter().map(|m| Value::from(m.as_str())).collect()),
            ])
        })
        .collect();
    Value::from_pairs([
        ("hostname", Value::from(sys.hostname.as_str())),
        ("timezone", Value::from(sys.timezone.as_str())),
        ("profile", Value::from(profile)),
        ("services", sys.services.iter().map(|s| Value::from(s.name.as_str())).collect()),
        ("users", Value::from(users)),
        ("groups", Value::from(groups)),
        ("vars", Value::from_pairs(sys.vars.iter().map(|(k, v)| (k.as_str(), toml_value(v))))),
    ])
}

/// A template failure: the 1-based line in the template and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderError {
    pub line: usize,
    pub message: String,
}

/// Renders `source` (named `name` in messages) against `ctx`.
pub fn render(name: &str, source: &str, ctx: &Value) -> Result<String, RenderError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_debug(true);
    // The default delimiters always build; a failure here would be a minijinja bug, and
    // rendering with the default syntax then only loses the trailing newline.
    if let Ok(syntax) = SyntaxConfig::builder().keep_trailing_newline(true).build() {
        env.set_syntax(syntax);
    }
    env.template_from_named_str(name, source).and_then(|t| t.render(ctx)).map_err(|e| describe(&e))
}

fn describe(e: &minijinja::Error) -> RenderError {
    let mut message = match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    };
    if let (Some(src), Some(range)) = (e.template_source(), e.range())
        && let Some(expr) = src.get(range)
        && !message.contains(expr)
    {
        message.push_str(&format!(" (in `{expr}`)"));
    }
    RenderError { line: e.line().unwrap_or(1), message }
}

fn toml_value(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::from(s.as_str()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => Value::from(*f),
        toml::Value::Boolean(b) => Value::from(*b),
        toml::Value::Datetime(d) => Value::from(d.to_string()),
        toml::Value::Array(a) => a.iter().map(toml_value).collect(),
        toml::Value::Table(t) => Value::from_pairs(t.iter().map(|(k, v)| (k.as_str(), toml_value(v)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Value {
        Value::from_pairs([
            ("hostname", Value::from("box")),
            ("vars", Value::from_pairs([("n", Value::from(3))])),
        ])
    }

    #[test]
    fn renders_variables_and_keeps_the_trailing_newline() {
        assert_eq!(
            render("/etc/motd", "Welcome to {{ hostname }} ({{ vars.n }})\n", &ctx()).unwrap(),
            "Welcome to box (3)\n"
        );
    }

    #[test]
    fn undefined_variable_is_an_error_with_its_line() {
        let e = render("/etc/motd", "a\n{{ hostnme }}\n", &ctx()).unwrap_err();
        assert_eq!(e.line, 2);
        assert_eq!(e.message, "undefined value: `hostnme` is undefined");
    }

    #[test]
    fn undefined_attribute_of_vars_is_an_error() {
        let e = render("/etc/motd", "{{ vars.missing }}", &ctx()).unwrap_err();
        assert_eq!(e.message, "undefined value: `vars.missing` is undefined");
    }

    #[test]
    fn syntax_error_reports_its_line() {
        let e = render("/etc/motd", "ok\nok\n{% if %}\n", &ctx()).unwrap_err();
        assert_eq!(e.line, 3);
        assert_eq!(e.message, "syntax error: unexpected end of block (in `%}`)");
    }

    #[test]
    fn toml_values_keep_their_shape() {
        let t: toml::Table = toml::from_str("a = [1, \"x\", true]\n[b]\nc = 1.5\n").unwrap();
        let v = toml_value(&toml::Value::Table(t));
        assert_eq!(render("t", "{{ a[1] }} {{ a[2] }} {{ b.c }}", &v).unwrap(), "x True 1.5");
    }
}
