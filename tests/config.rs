//! Parsing and validating renewal.yaml: every error names the file, the field path, the line and
//! column where the parser gives them, and a fix.

use renewctl::desired::{self, ConfigError};

const HEAD: &str = "version: 1\nregions: [cn-hangzhou]\npolicies:\n";

fn errors(yaml: &str) -> ConfigError {
    match desired::parse(yaml.as_bytes(), "renewal.yaml") {
        Ok(config) => panic!("expected an error, got {config:?}"),
        Err(err) => err,
    }
}

fn rendered(yaml: &str) -> String {
    errors(yaml).to_string()
}

#[test]
fn the_examples_are_valid() {
    let text = include_str!("../examples/renewal.yaml");
    let config = desired::parse(text.as_bytes(), "examples/renewal.yaml").unwrap();
    assert!(config.desired.policies.len() >= 4);
    assert!(config.digest.starts_with("sha256:") && config.digest.len() == 71);
}

#[test]
fn unknown_keys_are_located() {
    let text = rendered(&format!(
        "{HEAD}  - name: a\n    match: {{tags: {{env: prod}}}}\n    renewal: manual\n    min_remainig: 3 days\n"
    ));
    assert!(
        text.contains(
            "error: policies[0].min_remainig: unknown key `min_remainig`\n --> renewal.yaml:7:5"
        ),
        "{text}"
    );
    assert!(
        text.contains("help: did you mean `min_remaining`?"),
        "{text}"
    );
}

#[test]
fn wrong_values_name_the_accepted_ones() {
    let text = rendered(&format!(
        "{HEAD}  - name: a\n    match: {{tags: {{env: prod}}}}\n    renewal: sometimes\n"
    ));
    assert!(
        text.contains("policies[0].renewal: `sometimes` is not a renewal; expected one of `auto`, `manual`, `never`\n --> renewal.yaml:6:14"),
        "{text}"
    );
}

#[test]
fn durations_must_have_the_form_n_unit() {
    let text = rendered(&format!(
        "{HEAD}  - name: a\n    match: {{tags: {{env: prod}}}}\n    renewal: manual\n    min_remaining: 3 fortnights\n"
    ));
    assert!(
        text.contains("error: policies[0].min_remaining: \"3 fortnights\" is not a duration"),
        "{text}"
    );
    assert!(text.contains("--> renewal.yaml:7:20"), "{text}");
}

#[test]
fn duplicate_tag_keys_are_refused() {
    let text = rendered(&format!(
        "{HEAD}  - name: a\n    match: {{tags: {{env: prod, env: dev}}}}\n    renewal: manual\n"
    ));
    assert!(text.contains("duplicate tag key `env`"), "{text}");
    assert!(text.contains("--> renewal.yaml:5:31"), "{text}");
}

#[test]
fn duplicate_fields_are_refused() {
    let text = rendered("version: 1\nversion: 1\nregions: [cn-hangzhou]\npolicies: []\n");
    assert!(text.contains("version: duplicate key `version`"), "{text}");
    // The parser itself places this error at 1:1; the reader finds the second key.
    assert!(text.contains("--> renewal.yaml:2:1"), "{text}");
}

#[test]
fn semantic_problems_are_all_reported_at_once() {
    let yaml = r#"version: 2
regions: [Hangzhou, cn-hangzhou, cn-hangzhou]
policies:
  - name: a
    match: {ids: [i-1, web-1]}
    renewal: never
    min_remaining: 30 days
  - name: a
    match: {ids: [i-1]}
    renewal: manual
    auto_renew_period: 1 year
  - name: c
    match: {}
    renewal: auto
  - name: d
    match: {tags: {env: prod}}
    renewal: auto
    auto_renew_period: 5 months
    renew_period: 1 month
  - name: e
    match: {tags: {env: dev}}
    renewal: manual
    min_remaining: 10 days
    renew_period: 10 months
"#;
    let err = errors(yaml);
    let paths: Vec<String> = err.diagnostics.iter().map(|d| d.path.to_string()).collect();
    assert_eq!(
        paths,
        vec![
            "version",
            "regions[0]",
            "regions[2]",
            "policies[0].match.ids[1]",
            "policies[0].min_remaining",
            "policies[1].name",
            "policies[1].match.ids[0]",
            "policies[1].auto_renew_period",
            "policies[2].match",
            "policies[2].renewal",
            "policies[3].auto_renew_period",
            "policies[3].renew_period",
            "policies[4].renew_period",
        ]
    );
    let text = err.to_string();
    assert!(text.contains("13 errors; nothing was planned"), "{text}");
    assert!(
        text.contains("1, 2, 3, 6, 12, 24, 36, 48, 60 months"),
        "{text}"
    );
    assert!(text.contains("already lists it"), "{text}");
}

#[test]
fn bad_bytes_give_an_error_not_a_panic() {
    for bytes in [
        &b""[..],
        b"   \n",
        b"\xff\xfe\x00garbage",
        b"version: 1\nregions: [cn-hangzhou]\npolicies:\n\t- name: a\n",
        b"[1, 2",
        b"- just\n- a list\n",
        b"a: &a [*a]\n",
    ] {
        let err = desired::parse(bytes, "renewal.yaml").unwrap_err();
        assert!(!err.diagnostics.is_empty());
        let text = err.to_string();
        assert!(text.starts_with("error: "), "{text}");
        assert!(text.contains("renewal.yaml"), "{text}");
    }
}

#[test]
fn a_byte_order_mark_and_crlf_line_ends_read_like_plain_text() {
    let plain = "version: 1\nregions: [cn-hangzhou]\npolicies:\n  - name: a\n    match: {tags: {env: prod}}\n    renewal: manual\n";
    let with_bom = format!("\u{feff}{plain}");
    let crlf = plain.replace('\n', "\r\n");
    let expected = desired::parse(plain.as_bytes(), "renewal.yaml")
        .unwrap()
        .desired;
    for text in [with_bom, crlf.clone()] {
        let config = desired::parse(text.as_bytes(), "renewal.yaml").unwrap();
        assert_eq!(config.desired, expected);
        assert_ne!(config.digest, desired::digest(plain.as_bytes()));
    }
    // Places are counted in lines as the editor shows them.
    let broken = crlf.replace("renewal: manual", "renewal: manul");
    let text = rendered(&broken);
    assert!(text.contains("--> renewal.yaml:6:14"), "{text}");
}

#[test]
fn anchors_and_aliases_share_values() {
    let text = [
        "version: 1",
        "regions: [cn-hangzhou]",
        "policies:",
        "  - name: a",
        "    match: {tags: &prod {env: prod}}",
        "    renewal: auto",
        "    auto_renew_period: &p 1 month",
        "  - name: b",
        "    match: {tags: *prod}",
        "    renewal: auto",
        "    auto_renew_period: *p",
    ]
    .join("\n");
    let config = desired::parse(text.as_bytes(), "renewal.yaml").unwrap();
    let [a, b] = &config.desired.policies[..] else {
        panic!("two policies expected")
    };
    assert_eq!(a.selector, b.selector);
    assert_eq!(a.auto_renew_period(), b.auto_renew_period());
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
}
