//! `docs/openapi.json` against the code: the routes it lists are exactly the
//! routes the router serves, its references resolve, and the real daemon's
//! answers fit the schemas it declares.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{json, Value};

const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.json");

/// The HTTP methods an OpenAPI path item may hold.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// An id no node or key has.
const MADE_UP_ID: &str = "made-up-id-0000";

fn doc() -> Value {
    let text = std::fs::read_to_string(DOC).unwrap_or_else(|e| panic!("cannot read {DOC}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{DOC} is not valid JSON: {e}"))
}

/// Every (METHOD, path) the document describes, with its operation.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let paths = doc["paths"].as_object().expect("the document has paths");
    let mut out = Vec::new();
    for (path, item) in paths {
        let item = item.as_object().expect("a path item is an object");
        for (key, op) in item {
            if METHODS.contains(&key.as_str()) {
                out.push((key.to_uppercase(), path.clone(), op.clone()));
            }
        }
    }
    out
}

fn documented_routes(doc: &Value) -> BTreeSet<(String, String)> {
    operations(doc)
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect()
}

fn served_routes() -> BTreeSet<(String, String)> {
    llmlb::daemon::router::ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect()
}

fn list(routes: &BTreeSet<(String, String)>) -> String {
    routes
        .iter()
        .map(|(m, p)| format!("  {m} {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn document_lists_exactly_the_served_routes() {
    let documented = documented_routes(&doc());
    let served = served_routes();
    assert_eq!(
        served.len(),
        llmlb::daemon::router::ROUTES.len(),
        "ROUTES lists a route twice"
    );
    let undocumented: BTreeSet<_> = served.difference(&documented).cloned().collect();
    let not_served: BTreeSet<_> = documented.difference(&served).cloned().collect();
    let mut problems = Vec::new();
    if !undocumented.is_empty() {
        problems.push(format!(
            "served by the router (ROUTES) but missing from docs/openapi.json:\n{}",
            list(&undocumented)
        ));
    }
    if !not_served.is_empty() {
        problems.push(format!(
            "described in docs/openapi.json but missing from the router (ROUTES):\n{}",
            list(&not_served)
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every `$ref` string in `value`, with the JSON pointer where it occurs.
fn refs(value: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let here = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push((here, r.clone())),
                    _ => refs(v, &here, out),
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                refs(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_ref_resolves_inside_components() {
    let doc = doc();
    let mut all = Vec::new();
    refs(&doc, "#", &mut all);
    assert!(!all.is_empty(), "the document uses no $ref at all");
    let mut broken = Vec::new();
    for (at, r) in &all {
        let target = r
            .strip_prefix('#')
            .filter(|p| p.starts_with("/components/"))
            .and_then(|p| doc.pointer(p));
        match target {
            Some(Value::Object(_)) => {}
            _ => broken.push(format!("  {at}: {r}")),
        }
        // Anything named like a schema must be one of components/schemas.
        if let Some(name) = r.strip_prefix("#/components/schemas/") {
            if doc["components"]["schemas"].get(name).is_none() {
                broken.push(format!("  {at}: no schema {name:?} in components/schemas"));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "$ref that do not resolve to an entry of components:\n{}",
        broken.join("\n")
    );

    // And no schema is left unused (a sign of a renamed or removed type).
    let used: BTreeSet<&str> = all
        .iter()
        .filter_map(|(_, r)| r.strip_prefix("#/components/schemas/"))
        .collect();
    let unused: Vec<&String> = doc["components"]["schemas"]
        .as_object()
        .expect("components/schemas")
        .keys()
        .filter(|k| !used.contains(k.as_str()))
        .collect();
    assert!(unused.is_empty(), "schemas nothing refers to: {unused:?}");
}

// ----- a small checker for the subset of JSON Schema the document uses ----

/// Follows a local `$ref`.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let target = doc
                .pointer(r.strip_prefix('#').unwrap_or(r))
                .unwrap_or_else(|| panic!("$ref {r} does not resolve"));
            resolve(doc, target)
        }
        None => schema,
    }
}

fn type_matches(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        other => panic!("the checker does not know type {other:?}"),
    }
}

/// Checks `v` against `schema`: types, enums, bounds, simple `^prefix`
/// patterns, and for objects with declared properties: every property of the
/// value is declared and every required one is present.
fn check(doc: &Value, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            check(doc, s, v, at, errors);
        }
    }
    for (key, exactly_one) in [("oneOf", true), ("anyOf", false)] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            let fits = options
                .iter()
                .filter(|s| {
                    let mut e = Vec::new();
                    check(doc, s, v, at, &mut e);
                    e.is_empty()
                })
                .count();
            if fits == 0 || (exactly_one && fits > 1) {
                errors.push(format!("{at}: {fits} of the {key} alternatives fit {v}"));
            }
        }
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() && !types.iter().any(|t| type_matches(t, v)) {
        errors.push(format!("{at}: {v} is not of type {types:?}"));
        return;
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(v) {
            errors.push(format!("{at}: {v} is not one of {options:?}"));
        }
    }
    if let Some(x) = v.as_f64() {
        if schema["minimum"].as_f64().is_some_and(|min| x < min) {
            errors.push(format!(
                "{at}: {x} is below the minimum {}",
                schema["minimum"]
            ));
        }
        if schema["maximum"].as_f64().is_some_and(|max| x > max) {
            errors.push(format!(
                "{at}: {x} is above the maximum {}",
                schema["maximum"]
            ));
        }
    }
    if let (Some(s), Some(p)) = (v.as_str(), schema["pattern"].as_str()) {
        // Only the `^literal` form the document uses for secret prefixes.
        if let Some(prefix) = p.strip_prefix('^') {
            if prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !s.starts_with(prefix)
            {
                errors.push(format!("{at}: {s:?} does not start with {prefix:?}"));
            }
        }
    }
    if let Some(items) = v.as_array() {
        if schema["minItems"]
            .as_u64()
            .is_some_and(|n| (items.len() as u64) < n)
            || schema["maxItems"]
                .as_u64()
                .is_some_and(|n| (items.len() as u64) > n)
        {
            errors.push(format!("{at}: {} items is outside the bounds", items.len()));
        }
        if let Some(item_schema) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                check(doc, item_schema, item, &format!("{at}[{i}]"), errors);
            }
        }
    }
    if let Some(obj) = v.as_object() {
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for name in required.iter().filter_map(Value::as_str) {
                if !obj.contains_key(name) {
                    errors.push(format!("{at}: required property {name:?} is missing"));
                }
            }
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            let closed = schema.get("type") == Some(&json!("object"));
            for (name, value) in obj {
                match props.get(name) {
                    Some(s) => check(doc, s, value, &format!("{at}.{name}"), errors),
                    None if closed => errors.push(format!(
                        "{at}: the answer has property {name:?}, which the schema does not declare"
                    )),
                    None => {}
                }
            }
        }
    }
}

fn assert_fits(doc: &Value, schema_name: &str, v: &Value) {
    let schema = json!({ "$ref": format!("#/components/schemas/{schema_name}") });
    let mut errors = Vec::new();
    check(doc, &schema, v, schema_name, &mut errors);
    assert!(
        errors.is_empty(),
        "the daemon's answer does not fit schema {schema_name}:\n  {}\nanswer: {v:#}",
        errors.join("\n  ")
    );
}

/// The schema of the JSON answer `status` of an operation, if it documents
/// that status at all.
fn response_schema<'a>(doc: &'a Value, op: &'a Value, status: u16) -> Option<Option<&'a Value>> {
    let response = op["responses"].get(status.to_string())?;
    let response = resolve(doc, response);
    Some(response.pointer("/content/application~1json/schema"))
}

#[tokio::test]
async fn every_documented_route_reaches_a_handler() {
    let doc = doc();
    let d = InProcess::start(&["--no-reachability-check"]).await;
    let token = d.admin_token();
    let mut problems = Vec::new();
    for (method, path, op) in operations(&doc) {
        let url = d.url(&path.replace("{id}", MADE_UP_ID));
        let mut req = d
            .http
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url)
            .bearer_auth(&token)
            .header("X-Node-Token", "llmlb_rt_made_up");
        if op.get("requestBody").is_some() {
            req = req.json(&json!({}));
        }
        let r = into_reply(req.send().await.expect("request reaches the daemon")).await;
        let code = r.body["code"].as_str().unwrap_or_default();
        if code == "route_not_found" || code == "method_not_allowed" {
            problems.push(format!(
                "{method} {path}: answered by the router fallback ({} {code})",
                r.status
            ));
            continue;
        }
        // The answer must be one the document lists for this operation.
        match response_schema(&doc, &op, r.status) {
            None => problems.push(format!(
                "{method} {path}: answered {} {}, a status the document does not list",
                r.status, r.body
            )),
            Some(None) if !r.body.is_null() => problems.push(format!(
                "{method} {path}: answered {} with a body the document does not describe: {}",
                r.status, r.body
            )),
            Some(None) => {}
            Some(Some(schema)) => {
                let mut errors = Vec::new();
                check(
                    &doc,
                    schema,
                    &r.body,
                    &format!("{method} {path}"),
                    &mut errors,
                );
                problems.extend(errors.into_iter().map(|e| format!("{e} ({})", r.status)));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn real_answers_fit_the_schemas() {
    let doc = doc();
    let d = InProcess::start(&["--no-reachability-check"]).await;

    let r = d
        .post(
            "/v0/nodes",
            None,
            registration("gpu-doc", "127.0.0.1", 8080),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_fits(&doc, "RegisterNodeResponse", &r.body);
    let id = r.body["node_id"].as_str().unwrap().to_string();
    let token = r.body["runtime_token"].as_str().unwrap().to_string();

    // The same machine again, proving itself with its token: 200 with the
    // same shape.
    let r = d
        .register_proving(&registration("gpu-doc", "127.0.0.1", 8080), Some(&token))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_fits(&doc, "RegisterNodeResponse", &r.body);
    assert_eq!(
        r.body["node_id"],
        id.as_str(),
        "a known machine keeps its id"
    );
    assert_ne!(
        r.body["runtime_token"],
        token.as_str(),
        "and gets a new token"
    );
    let token = r.body["runtime_token"].as_str().unwrap().to_string();

    let r = d.heartbeat(&token, heartbeat_body(&id)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_fits(&doc, "HeartbeatResponse", &r.body);

    let node = d.node(&id).await;
    assert_fits(&doc, "NodeView", &node);

    let r = d
        .admin_post(&format!("/v0/nodes/{id}/approve"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_fits(&doc, "NodeView", &r.body);

    let r = d.admin_get("/v0/nodes").await;
    assert_eq!(r.status, 200, "{}", r.body);
    for n in r.body.as_array().expect("a JSON array") {
        assert_fits(&doc, "NodeView", n);
    }

    // A rotation: the heartbeat reply now carries `runtime_token`.
    let r = d
        .admin_post(
            &format!("/v0/nodes/{id}/token/rotate"),
            json!({"grace_secs": 60}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_fits(&doc, "RotateTokenResponse", &r.body);
    let r = d.heartbeat(&token, heartbeat_body(&id)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.get("runtime_token").is_some(), "{}", r.body);
    assert_fits(&doc, "HeartbeatResponse", &r.body);
    assert_fits(&doc, "NodeView", &d.node(&id).await);

    let r = d
        .admin_post(&format!("/v0/nodes/{id}/token/revoke"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_fits(&doc, "RevokeTokenResponse", &r.body);
    // A node without a token shows `token_age_secs: null`.
    assert_fits(&doc, "NodeView", &d.node(&id).await);

    let r = d.get("/v0/status", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_fits(&doc, "StatusResponse", &r.body);

    let r = d
        .admin_post(
            "/v0/api-keys",
            json!({"name": "doc", "role": "viewer", "expires_in_secs": 3600}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_fits(&doc, "ApiKeyCreated", &r.body);
    for body in [
        json!({"name": "doc", "uses": 2, "tags": ["t"], "auto_approve": true}),
        json!({"never_expires": true}),
    ] {
        let r = d.admin_post("/v0/join-tokens", body).await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_fits(&doc, "JoinTokenCreated", &r.body);
    }
    let r = d.admin_get("/v0/join-tokens").await;
    for t in r.body.as_array().expect("a JSON array") {
        assert_fits(&doc, "JoinTokenView", t);
    }
    let r = d.admin_get("/v0/audit").await;
    let rows = r.body.as_array().expect("a JSON array");
    assert!(!rows.is_empty());
    for row in rows {
        assert_fits(&doc, "AuditEntry", row);
    }
    let r = d.admin_get("/v0/api-keys").await;
    assert_eq!(r.status, 200, "{}", r.body);
    for k in r.body.as_array().expect("a JSON array") {
        assert_fits(&doc, "ApiKeyView", k);
    }

    let r = d.login("admin", &d.admin_password()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_fits(&doc, "LoginResponse", &r.body);

    let r = d
        .admin_post("/v0/import/nodes", json!({"nodes": [], "dry_run": true}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_fits(&doc, "ImportReport", &r.body);

    let r = d.get("/v0/nodes", None).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_fits(&doc, "ErrorBody", &r.body);
}
