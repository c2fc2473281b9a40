//! Template checks and rendering, on in-memory scopes.

use chrono::Utc;
use serde_json::json;

use super::text::single_expression;
use super::*;

fn scope() -> Scope {
    let mut s = Scope::default();
    s.vars.insert("base".into(), json!("https://shop.test"));
    s.vars.insert("order_id".into(), json!(42));
    s.vars.insert("price".into(), json!(1.5));
    s.vars.insert("paid".into(), json!(true));
    s.vars
        .insert("order".into(), json!({"id": "ord_1", "lines": [1, 2]}));
    s.vars.insert("q".into(), json!("<a&b>"));
    s.env.insert("SHOP_URL".into(), "https://env.test".into());
    s.secrets.insert("test_card".into(), "4242".into());
    s
}

fn render(source: &str) -> Result<String, TemplateError> {
    Engine::new().render(&Template::new(source), &scope())
}

#[test]
fn renders_vars_env_secrets_and_filters() {
    let cases = [
        ("plain text", "plain text"),
        (
            "{{ base }}/orders/{{ order_id }}",
            "https://shop.test/orders/42",
        ),
        (
            "{{ price }} {{ paid }} {{ not paid }} {{ none }}",
            "1.5 true false null",
        ),
        ("{{ order }}", r#"{"id":"ord_1","lines":[1,2]}"#),
        ("{\"paid\": {{ paid }}}", r#"{"paid": true}"#),
        ("{{ order.id }} {{ order.lines | length }}", "ord_1 2"),
        ("{{ env.SHOP_URL }}", "https://env.test"),
        ("{{ secret.test_card }}", "4242"),
        ("{{ 'AbC' | lower }}{{ 'AbC' | upper }}", "abcABC"),
        ("{{ 'a b&c/d' | urlencode }}", "a%20b%26c/d"),
        ("{{ 'user:pass' | base64 }}", "dXNlcjpwYXNz"),
        ("{{ 'dXNlcjpwYXNz' | b64decode }}", "user:pass"),
        ("{% if paid %}yes{% endif %}", "yes"),
    ];
    for (source, want) in cases {
        assert_eq!(render(source).as_deref(), Ok(want), "{source}");
    }
}

#[test]
fn output_is_never_html_escaped() {
    // The name of a cached template is its source; one ending in `.html`
    // would switch minijinja's default escaping on.
    assert_eq!(
        render("{{ q }}/index.html").as_deref(),
        Ok("<a&b>/index.html")
    );
}

#[test]
fn trailing_newline_is_kept() {
    assert_eq!(render("id={{ order_id }}\n").as_deref(), Ok("id=42\n"));
}

#[test]
fn undefined_variable_is_named() {
    let cases = [
        ("{{ base }}/{{ missing }}", "undefined variable `missing`"),
        ("{{ order.nope }}", "undefined variable `order.nope`"),
        (
            "{{ env.NOPE }}",
            "undefined variable `env.NOPE` (set the environment variable NOPE or add `| default(...)`)",
        ),
        (
            "{{ secret.api_key }}",
            "secret `api_key` is not set (set JOURNEYD_SECRET_API_KEY or put a file named api_key in the secrets directory)",
        ),
        ("{{ missing | upper }}", "undefined variable `missing`"),
        ("{{ 'x' if false }}", "undefined value in `'x' if false`"),
        (
            "{{ base | nope }}",
            "unknown filter: filter nope is unknown in `nope`",
        ),
    ];
    for (source, want) in cases {
        let err = render(source).expect_err(source);
        assert_eq!(err.message, want, "{source}");
    }
}

#[test]
fn undefined_error_points_at_the_variable() {
    let err = render("{{ base }}/{{ missing }}").expect_err("undefined");
    assert_eq!(err.offset, Some(14));
}

#[test]
fn undefined_in_later_expression_names_that_one() {
    // Both are missing; the first expression is guarded by `default`.
    let err = render("{{ first | default('x') }}-{{ second }}").expect_err("undefined");
    assert_eq!(err.message, "undefined variable `second`");
}

#[test]
fn default_filter_works_on_missing_env() {
    let cases = [
        (
            "{{ env.NOPE | default('http://localhost') }}",
            "http://localhost",
        ),
        ("{{ missing | default(3) }}", "3"),
        ("{{ secret.nope | default('none') }}", "none"),
        ("{{ env.SHOP_URL | default('unused') }}", "https://env.test"),
    ];
    for (source, want) in cases {
        assert_eq!(render(source).as_deref(), Ok(want), "{source}");
    }
}

#[test]
fn uuid_differs_per_render() {
    let engine = Engine::new();
    let t = Template::new("{{ uuid }}");
    let a = engine.render(&t, &scope()).expect("render");
    let b = engine.render(&t, &scope()).expect("render");
    assert_ne!(a, b);
    let parsed = uuid::Uuid::parse_str(&a).expect("a uuid");
    assert_eq!(parsed.get_version_num(), 4);
}

#[test]
fn now_is_rfc3339_utc_seconds() {
    let before = Utc::now().timestamp();
    let out = render("{{ now }}|{{ now_unix }}").expect("render");
    let (now, unix) = out.split_once('|').expect("separator");
    assert!(now.ends_with('Z') && now.len() == 20, "{now}");
    let parsed = chrono::DateTime::parse_from_rfc3339(now).expect("rfc3339");
    let unix: i64 = unix.parse().expect("integer");
    assert_eq!(parsed.timestamp(), unix);
    assert!((before..=before + 5).contains(&unix));
}

#[test]
fn random_digits_gives_n_digits() {
    for n in [0usize, 1, 8, 64] {
        let out = render(&format!("{{{{ random_digits({n}) }}}}")).expect("render");
        assert_eq!(out.len(), n);
        assert!(out.chars().all(|c| c.is_ascii_digit()), "{out}");
    }
    let err = render("{{ random_digits(65) }}").expect_err("too many");
    assert!(err.message.contains("at most 64"), "{}", err.message);
}

#[test]
fn var_shadows_generator() {
    let engine = Engine::new();
    let mut s = scope();
    s.vars.insert("uuid".into(), json!("fixed"));
    assert_eq!(
        engine.render(&Template::new("{{ uuid }}"), &s).as_deref(),
        Ok("fixed")
    );
}

#[test]
fn references_lists_what_the_template_reads_in_order() {
    use Reference::*;
    let cases: [(&str, Vec<Reference>); 4] = [
        (
            "{{ base }}/{{ env.SHOP }}/{{ secret.card }}/{{ order.id }}",
            vec![
                Var("base".into()),
                Env("SHOP".into()),
                Secret("card".into()),
                Var("order".into()),
            ],
        ),
        (
            "{{ uuid }}{{ now }}{{ now_unix }}{{ random_digits(4) }}{{ range(2) | join }}",
            vec![],
        ),
        (
            "{% for l in order.lines %}{{ l }}{% endfor %}{% set x = 1 %}{{ x }}",
            vec![Var("order".into())],
        ),
        (
            "{{ order_id }}{{ order.id }}{{ order_id }}",
            vec![Var("order_id".into()), Var("order".into())],
        ),
    ];
    let engine = Engine::new();
    for (source, want) in cases {
        assert_eq!(engine.references(source), Ok(want), "{source}");
    }
}

#[test]
fn bare_env_or_secret_is_an_error() {
    let engine = Engine::new();
    for (source, want) in [
        ("{{ env }}", "`env` needs a name: use env.NAME"),
        (
            "{{ secret | length }}",
            "`secret` needs a name: use secret.NAME",
        ),
    ] {
        let err = engine.references(source).expect_err(source);
        assert_eq!(err.message, want);
        assert_eq!(err.offset, Some(3));
    }
}

#[test]
fn syntax_error_has_clean_message_and_offset() {
    let engine = Engine::new();
    let err = engine
        .references("{{ base }}/{{ order_id")
        .expect_err("syntax");
    assert_eq!(
        err.message,
        "syntax error: unexpected end of input, expected end of variable block"
    );
    assert!(err.offset.is_some());
    let err = engine.references("é{{ a + }}").expect_err("syntax");
    assert!(err.message.starts_with("syntax error: "), "{}", err.message);
    assert_eq!(err.offset, Some(8), "offset counts characters, not bytes");
}

#[test]
fn json_leaf_expression_keeps_its_type() {
    let engine = Engine::new();
    let cases = [
        (json!("{{ order_id }}"), json!(42)),
        (json!("{{order_id}}"), json!(42)),
        (json!("{{- order_id -}}"), json!(42)),
        (json!("{{ price }}"), json!(1.5)),
        (json!("{{ paid }}"), json!(true)),
        (
            json!("{{ order }}"),
            json!({"id": "ord_1", "lines": [1, 2]}),
        ),
        (json!("{{ order.lines }}"), json!([1, 2])),
        (json!("{{ order_id + 1 }}"), json!(43)),
        (json!("{{ none }}"), json!(null)),
        (json!("{{ missing | default(7) }}"), json!(7)),
        (json!("id-{{ order_id }}"), json!("id-42")),
        (json!("{{ order_id }}-{{ order_id }}"), json!("42-42")),
        (json!(" {{ order_id }}"), json!(" 42")),
        (json!(5), json!(5)),
    ];
    for (input, want) in cases {
        assert_eq!(engine.render_json(&input, &scope()), Ok(want), "{input}");
    }
}

#[test]
fn render_json_renders_nested_leaves_and_keys() {
    let input = json!({
        "order": "{{ order_id }}",
        "meta_{{ order.id }}": ["{{ base }}/x", {"card": "{{ secret.test_card }}"}, null],
        "n": 1
    });
    let want = json!({
        "order": 42,
        "meta_ord_1": ["https://shop.test/x", {"card": "4242"}, null],
        "n": 1
    });
    assert_eq!(Engine::new().render_json(&input, &scope()), Ok(want));
}

#[test]
fn render_json_names_undefined_leaf() {
    let engine = Engine::new();
    for (input, want) in [
        (
            json!({"a": ["{{ missing }}"]}),
            "undefined variable `missing`",
        ),
        (json!("x-{{ env.NOPE }}"), "undefined variable `env.NOPE`"),
        (json!("{{ order.nope }}"), "undefined variable `order.nope`"),
    ] {
        let err = engine.render_json(&input, &scope()).expect_err("undefined");
        assert!(err.message.starts_with(want), "{input}: {}", err.message);
    }
}

#[test]
fn json_leaf_errors_point_into_the_leaf() {
    let engine = Engine::new();
    let err = engine
        .render_json(&json!("{{  order_id + 'x' }}"), &scope())
        .expect_err("type error");
    assert!(
        err.message.contains("in `order_id + 'x'`"),
        "{}",
        err.message
    );
    assert_eq!(err.offset, Some(4));
    let err = engine
        .render_json(&json!("{{  order_id + }}"), &scope())
        .expect_err("syntax error");
    assert!(err.message.starts_with("syntax error"), "{}", err.message);
    assert_eq!(err.offset, Some(13), "the dangling `+`");
}

#[test]
fn engine_is_shared_across_tasks() {
    fn shareable<T: Send + Sync>(_: &T) {}
    let engine = std::sync::Arc::new(Engine::new());
    shareable(&engine);
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let engine = engine.clone();
            std::thread::spawn(move || {
                let mut s = scope();
                s.vars.insert("order_id".into(), json!(i));
                engine.render(&Template::new("n={{ order_id }}"), &s)
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(
            h.join().expect("thread").as_deref(),
            Ok(format!("n={i}").as_str())
        );
    }
}

#[test]
fn cached_template_renders_with_each_scope() {
    let engine = Engine::new();
    let t = Template::new("{{ order_id }}");
    let mut s = scope();
    assert_eq!(engine.render(&t, &s).as_deref(), Ok("42"));
    s.vars.insert("order_id".into(), json!(7));
    assert_eq!(engine.render(&t, &s).as_deref(), Ok("7"));
    s.vars.remove("order_id");
    assert!(engine.render(&t, &s).is_err());
}

/// The fast path (`fast`) and minijinja agree on every template the fast path
/// takes, and it declines what it cannot print exactly as minijinja does.
#[test]
fn the_fast_path_renders_what_minijinja_renders_and_declines_the_rest() {
    let engine = Engine::new();
    let mut s = scope();
    s.vars.insert("big".into(), json!(u64::MAX));
    s.vars.insert("none".into(), json!("shadowed?"));
    s.vars.insert("nested".into(), json!({"a": {"b": "deep"}}));
    let taken = [
        "{{ base }}/orders/{{ order_id }}",
        "{{base}}{{order_id}}",
        "x {{  order.id  }} y }} z",
        "{{ env.SHOP_URL }}/{{ secret.test_card }}",
        "{{ big }}",
        "{{ nested.a.b }}",
        "trailing newline {{ q }}\n",
    ];
    for source in taken {
        let fast =
            fast::render(source, &s).unwrap_or_else(|| panic!("fast path declined {source}"));
        let slow = engine
            .render_str(source, &context(&s), &s)
            .expect("renders");
        assert_eq!(fast, slow, "{source}");
    }
    let declined = [
        "{{ price }}",
        "{{ paid }}",
        "{{ order }}",
        "{{ none }}",
        "{{ order.lines }}",
        "{{ missing }}",
        "{{ order.nope }}",
        "{{ env.NOPE }}",
        "{{ uuid }}",
        "{{ q | upper }}",
        "{{- q }}",
        "{% if paid %}x{% endif %}",
        "{# note #}{{ q }}",
        "{{ base",
        "{{ order_id.x }}",
    ];
    for source in declined {
        assert_eq!(fast::render(source, &s), None, "{source}");
    }
    // A one-expression JSON leaf keeps its type on the fast path, as through minijinja.
    for (leaf, want) in [
        ("{{ order_id }}", json!(42)),
        ("{{ price }}", json!(1.5)),
        ("{{ order }}", json!({"id": "ord_1", "lines": [1, 2]})),
        ("{{ secret.test_card }}", json!("4242")),
    ] {
        let doc = json!({ "k": leaf });
        assert_eq!(
            engine.render_json(&doc, &s).expect("renders")["k"],
            want,
            "{leaf}"
        );
        let expr = single_expression(leaf).expect("one expression");
        assert_eq!(
            fast::lookup(expr, &s).map(|l| l.to_json()),
            Some(want.clone())
        );
        let slow = engine
            .eval_expression(leaf, expr, &context(&s), &s)
            .expect("evaluates");
        assert_eq!(slow, want, "{leaf}");
    }
}
