//! The template syntax and how each kind of value is written in each slot,
//! with the exact text expected.

use serde_json::json;

use super::*;

/// The hard values, each with its expected encoding in a URL part.
const URL_CASES: [(&str, &str); 10] = [
    ("a b", "a%20b"),
    ("a/b", "a%2Fb"),
    ("a?b", "a%3Fb"),
    ("a#b", "a%23b"),
    ("100%", "100%25"),
    ("a&b=c+d", "a%26b%3Dc%2Bd"),
    ("say \"hi\" 'x'", "say%20%22hi%22%20%27x%27"),
    ("é中", "%C3%A9%E4%B8%AD"),
    ("", ""),
    ("A-z_0.9~", "A-z_0.9~"),
];

/// Renders `template` with every placeholder given `value` as CSV text.
fn fill(template: &Template, value: &str) -> Result<String, FillError> {
    template.render(|_| Some(Cell::Text(value)))
}

fn fill_json(template: &Template, value: &serde_json::Value) -> String {
    template
        .render(|_| Some(Cell::Json(value)))
        .expect("every placeholder has a value")
}

fn syntax_error(result: Result<Template, SyntaxError>) -> String {
    result.expect_err("the template is refused").0
}

#[test]
fn url_placeholders_get_the_part_they_stand_in() {
    let template =
        Template::url("https://{user}@h.test:{port}/users/{id}/x?lang={lang}&q={q}#top-{frag}")
            .expect("valid");
    let slots: Vec<_> = template.slots().collect();
    assert_eq!(
        slots,
        [
            ("user", Slot::Authority),
            ("port", Slot::Authority),
            ("id", Slot::Path),
            ("lang", Slot::Query),
            ("q", Slot::Query),
            ("frag", Slot::Fragment),
        ]
    );
    let fields: Vec<_> = template.fields().collect();
    assert_eq!(fields, ["user", "port", "id", "lang", "q", "frag"]);
    // `?` in the query and a second `#` stay where they are.
    let template = Template::url("http://h.test?a=?{a}#x#{b}").expect("valid");
    let slots: Vec<_> = template.slots().collect();
    assert_eq!(slots, [("a", Slot::Query), ("b", Slot::Fragment)]);
    let template = Template::url("http://h.test#{a}?{b}").expect("valid");
    let slots: Vec<_> = template.slots().collect();
    assert_eq!(slots, [("a", Slot::Fragment), ("b", Slot::Fragment)]);
}

#[test]
fn hard_values_are_percent_encoded_in_the_path_query_and_fragment() {
    let template = Template::url("http://h.test/p/{v}/x?k={v}&z=1#f-{v}").expect("valid");
    for (value, encoded) in URL_CASES {
        assert_eq!(
            fill(&template, value).expect("fills"),
            format!("http://h.test/p/{encoded}/x?k={encoded}&z=1#f-{encoded}"),
            "{value:?}"
        );
    }
}

#[test]
fn the_template_text_itself_is_not_changed() {
    // Literal characters, even ones a value would have encoded, stay as
    // written; only the braces are unescaped.
    let template =
        Template::url("http://h.test/a+b;c/{{x}}/%41/{v}?a=b&c={v}+{v}#é").expect("valid");
    assert_eq!(
        fill(&template, "1 2").expect("fills"),
        "http://h.test/a+b;c/{x}/%41/1%202?a=b&c=1%202+1%202#é"
    );
}

#[test]
fn json_values_in_a_url_are_their_text() {
    let template = Template::url("http://h.test/{v}").expect("valid");
    let cases = [
        (json!("a b"), "http://h.test/a%20b"),
        (json!(7), "http://h.test/7"),
        (json!(1.5), "http://h.test/1.5"),
        (json!(true), "http://h.test/true"),
        (json!({"k": [1]}), "http://h.test/%7B%22k%22%3A%5B1%5D%7D"),
    ];
    for (value, want) in cases {
        assert_eq!(fill_json(&template, &value), want, "{value}");
    }
}

#[test]
fn a_value_that_makes_a_dot_segment_is_refused() {
    let template = Template::url("http://h.test/users/{id}/x.{ext}?q={id}").expect("valid");
    let lookup = |id: &'static str, ext: &'static str| {
        move |name: &str| Some(Cell::Text(if name == "id" { id } else { ext }))
    };
    let dots = |name: &str| Err(FillError::DotSegment(name.to_owned()));
    assert_eq!(template.render(lookup("..", "json")), dots("id"));
    assert_eq!(template.render(lookup(".", "json")), dots("id"));
    // `x.` + `.` is the segment `x..`: harmless.
    assert_eq!(
        template.render(lookup("...", ".")),
        Ok("http://h.test/users/.../x..?q=...".to_owned())
    );
    let template = Template::url("http://h.test/a/.{x}/b/{y}").expect("valid");
    assert_eq!(
        template.render(|name| Some(Cell::Text(if name == "x" { "." } else { "ok" }))),
        dots("x")
    );
    assert_eq!(
        template.render(|name| Some(Cell::Text(if name == "x" { "" } else { ".." }))),
        dots("y")
    );
    // An empty value leaves an empty segment; a literal `..` is the
    // template's own business.
    assert_eq!(
        template.render(|_| Some(Cell::Text(""))),
        Ok("http://h.test/a/./b/".to_owned())
    );
    // In the query, `..` is just text.
    let template = Template::url("http://h.test/x?q={v}").expect("valid");
    assert_eq!(fill(&template, ".."), Ok("http://h.test/x?q=..".to_owned()));
}

#[test]
fn header_values_are_raw_and_control_characters_are_refused() {
    let template = Template::header("Bearer {token}; v={v}").expect("valid");
    for (value, _) in URL_CASES {
        assert_eq!(
            fill(&template, value).expect("fills"),
            format!("Bearer {value}; v={value}")
        );
    }
    assert_eq!(
        fill(&template, "a\tb").expect("a tab is allowed"),
        "Bearer a\tb; v=a\tb"
    );
    for bad in ["a\r\nX-Evil: 1", "a\nb", "nul\0", "del\u{7f}"] {
        assert_eq!(
            fill(&template, bad),
            Err(FillError::Control("token".to_owned())),
            "{bad:?}"
        );
    }
}

#[test]
fn raw_bodies_get_values_as_they_are() {
    let template = Template::raw("name={name}&x={{1}}\n").expect("valid");
    for (value, _) in URL_CASES {
        assert_eq!(
            fill(&template, value).expect("fills"),
            format!("name={value}&x={{1}}\n")
        );
    }
    assert_eq!(fill(&template, "a\nb").expect("fills"), "name=a\nb&x={1}\n");
}

#[test]
fn json_placeholders_inside_strings_are_escaped() {
    let template = Template::json(r#"{"name": "{v}", "greeting": "hi {v}!"}"#).expect("valid");
    let slots: Vec<_> = template.slots().collect();
    assert_eq!(slots, [("v", Slot::JsonString), ("v", Slot::JsonString)]);
    let cases = [
        ("a b", "a b"),
        ("a/b?c#d%e&f=g+h", "a/b?c#d%e&f=g+h"),
        (r#"say "hi""#, r#"say \"hi\""#),
        (r"back\slash", r"back\\slash"),
        ("line\nbreak\ttab\u{1}", r"line\nbreak\ttab\u0001"),
        ("é中", "é中"),
        ("", ""),
        ("42", "42"),
    ];
    for (value, escaped) in cases {
        let body = fill(&template, value).expect("fills");
        assert_eq!(
            body,
            format!(r#"{{"name": "{escaped}", "greeting": "hi {escaped}!"}}"#),
            "{value:?}"
        );
        let parsed: serde_json::Value = serde_json::from_str(&body).expect("valid JSON");
        assert_eq!(parsed["name"], value, "{value:?} survives the round trip");
    }
    // A typed value inside a string is its compact text, escaped.
    assert_eq!(
        fill_json(&template, &json!({"k": "v"})),
        r#"{"name": "{\"k\":\"v\"}", "greeting": "hi {\"k\":\"v\"}!"}"#
    );
}

#[test]
fn json_placeholders_outside_strings_are_values() {
    let template = Template::json(r#"{"id": {v}, "list": [{v}, {"x": {v}}]}"#).expect("valid");
    let slots: Vec<_> = template.slots().map(|(_, slot)| slot).collect();
    assert_eq!(slots, [Slot::JsonBare; 3]);
    let cases = [
        ("42", "42"),
        ("-1.5e3", "-1.5e3"),
        ("0", "0"),
        ("true", "true"),
        ("false", "false"),
        ("null", "null"),
        ("007", r#""007""#),
        ("+1", r#""+1""#),
        ("1.", r#""1.""#),
        (" 1", r#"" 1""#),
        ("NaN", r#""NaN""#),
        ("True", r#""True""#),
        ("a b", r#""a b""#),
        (r#"say "hi""#, r#""say \"hi\"""#),
        ("é中", r#""é中""#),
        ("", r#""""#),
    ];
    for (value, inserted) in cases {
        let body = fill(&template, value).expect("fills");
        assert_eq!(
            body,
            format!(r#"{{"id": {inserted}, "list": [{inserted}, {{"x": {inserted}}}]}}"#),
            "{value:?}"
        );
        serde_json::from_str::<serde_json::Value>(&body).expect("valid JSON");
    }
    // JSON-lines values keep their type: the string "7" stays a string.
    let typed = [
        (json!("7"), r#""7""#),
        (json!(7), "7"),
        (json!(null), "null"),
        (json!([1, "a"]), r#"[1,"a"]"#),
    ];
    let template = Template::json("{v}").expect("a bare placeholder is a JSON document");
    for (value, inserted) in typed {
        assert_eq!(fill_json(&template, &value), inserted, "{value}");
    }
}

#[test]
fn json_templates_keep_their_object_braces_and_escapes() {
    let text = r#"{ "a": {}, "b": {"c": "{{x}}"}, "d": "\"{v}\"", "e": "\\{v}" }"#;
    let template = Template::json(text).expect("valid");
    assert_eq!(
        fill(&template, "1").expect("fills"),
        r#"{ "a": {}, "b": {"c": "{x}"}, "d": "\"1\"", "e": "\\1" }"#
    );
}

#[test]
fn template_syntax_errors_name_the_column() {
    let cases: [(Result<Template, SyntaxError>, &str); 9] = [
        (
            Template::url("http://h.test/{id"),
            "unclosed { at column 15 (write {{ for a literal brace)",
        ),
        (
            Template::url("http://h.test/{a{b}"),
            "unclosed { at column 15 (write {{ for a literal brace)",
        ),
        (
            Template::url("http://h.test/a}"),
            "} at column 16 closes no placeholder (write }} for a literal brace)",
        ),
        (
            Template::url("http://h.test/{}"),
            "empty placeholder {} at column 15 (write {{}} for literal braces)",
        ),
        (
            Template::header("é{x"),
            "unclosed { at column 2 (write {{ for a literal brace)",
        ),
        (
            // JSON in a `-d` body needs its braces doubled.
            Template::raw(r#"{"a": "{x}"}"#),
            "unclosed { at column 1 (write {{ for a literal brace)",
        ),
        (
            Template::json(r#"{"a": "{x"}"#),
            "unclosed { at column 8 (write {{ for a literal brace)",
        ),
        (
            Template::json(r#"{"a": "}"}"#),
            "} at column 8 closes no placeholder (write }} for a literal brace)",
        ),
        (
            Template::json(r#"{"a": {x}"#),
            "not valid JSON once its placeholders are filled (EOF while parsing an object)",
        ),
    ];
    for (result, want) in cases {
        assert_eq!(syntax_error(result), want);
    }
    assert!(
        Template::json(r#"{"a": {x y}}"#).is_err(),
        "a bare name has no spaces"
    );
}

#[test]
fn a_missing_value_names_the_placeholder() {
    let template = Template::url("http://h.test/{id}?lang={lang}").expect("valid");
    let result = template.render(|name| (name == "id").then_some(Cell::Text("7")));
    assert_eq!(result, Err(FillError::Missing("lang".to_owned())));
    assert_eq!(
        FillError::Missing("lang".to_owned()).to_string(),
        "no value for {lang}"
    );
}

#[test]
fn json_scalars_follow_the_json_grammar() {
    for yes in [
        "0", "-0", "12", "1.25", "1e5", "1E+5", "-1.5e-3", "true", "null",
    ] {
        assert!(is_json_scalar(yes), "{yes}");
    }
    for no in [
        "", "-", "01", "1.", ".5", "1e", "1e+", "0x10", "Infinity", "1 ", "1_000",
    ] {
        assert!(!is_json_scalar(no), "{no}");
    }
}
