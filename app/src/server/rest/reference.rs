//! The API page's content, read from the generated OpenAPI document, so the page and the
//! document cannot tell different stories.

use serde_json::Value;
use utoipa::OpenApi;

use crate::model::{ApiField, ApiOperation, ApiReference, ApiResponse, ApiSchema};
use crate::server::rest::ApiDoc;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

pub fn build() -> ApiReference {
    let doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or(Value::Null);
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let mut operations = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            for method in METHODS {
                let op = &item[method];
                if op.is_null() {
                    continue;
                }
                operations.push(ApiOperation {
                    method: method.to_uppercase(),
                    path: path.clone(),
                    tag: text(&op["tags"][0]),
                    summary: text(&op["summary"]),
                    description: text(&op["description"]),
                    parameters: op["parameters"]
                        .as_array()
                        .map(|ps| {
                            ps.iter()
                                .map(|p| ApiField {
                                    name: format!("{} ({})", text(&p["name"]), text(&p["in"])),
                                    kind: kind(&p["schema"]),
                                    required: p["required"].as_bool().unwrap_or(false),
                                    description: text(&p["description"]),
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    request: op["requestBody"]["content"]["application/json"]["schema"]
                        .as_object()
                        .map(|_| kind(&op["requestBody"]["content"]["application/json"]["schema"])),
                    responses: op["responses"]
                        .as_object()
                        .map(|rs| {
                            rs.iter()
                                .map(|(status, r)| ApiResponse {
                                    status: status.clone(),
                                    description: text(&r["description"]),
                                    body: r["content"]["application/json"]["schema"]
                                        .as_object()
                                        .map(|_| kind(&r["content"]["application/json"]["schema"])),
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                });
            }
        }
    }
    let order = |tag: &str| {
        [
            "networks",
            "addresses",
            "problems",
            "checks",
            "dnsbl",
            "alerts",
            "meta",
        ]
        .iter()
        .position(|t| *t == tag)
        .unwrap_or(usize::MAX)
    };
    operations.sort_by_key(|op| order(&op.tag));
    let mut schemas = Vec::new();
    if let Some(all) = doc["components"]["schemas"].as_object() {
        for (name, schema) in all {
            schemas.push(ApiSchema {
                name: name.clone(),
                description: text(&schema["description"]),
                fields: fields(schema),
            });
        }
    }
    ApiReference {
        intro: text(&doc["info"]["description"]),
        operations,
        schemas,
    }
}

/// The fields of an object schema, those of the schemas it is made of (`allOf`) first.
fn fields(schema: &Value) -> Vec<ApiField> {
    let mut out = Vec::new();
    if let Some(parts) = schema["allOf"].as_array() {
        for part in parts {
            match part["$ref"].as_str() {
                Some(r) => out.push(ApiField {
                    name: "…".into(),
                    kind: short(r).to_string(),
                    required: true,
                    description: format!("every field of {}", short(r)),
                }),
                None => out.extend(fields(part)),
            }
        }
    }
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(props) = schema["properties"].as_object() {
        for (name, p) in props {
            out.push(ApiField {
                name: name.clone(),
                kind: kind(p),
                required: required.contains(&name.as_str()),
                description: p["description"].as_str().unwrap_or_default().to_string(),
            });
        }
    }
    out
}

fn short(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

/// A schema's type in words: `string`, `integer or null`, `Address[]`, `one of a, b`.
fn kind(schema: &Value) -> String {
    if let Some(r) = schema["$ref"].as_str() {
        return short(r).to_string();
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(parts) = schema[combinator].as_array() {
            let kinds: Vec<String> = parts.iter().map(kind).collect();
            return kinds.join(" or ");
        }
    }
    if let Some(values) = schema["enum"].as_array() {
        let values: Vec<String> = values
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect();
        return format!("one of {}", values.join(", "));
    }
    let types: Vec<String> = match &schema["type"] {
        Value::String(t) => vec![t.clone()],
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => vec![],
    };
    let types: Vec<String> = types
        .into_iter()
        .map(|t| {
            if t == "array" {
                format!("{}[]", kind(&schema["items"]))
            } else {
                t
            }
        })
        .collect();
    if types.is_empty() {
        "any".into()
    } else {
        types.join(" or ")
    }
}
