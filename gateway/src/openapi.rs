//! The OpenAPI 3.1 document, generated from the route table and the
//! protobuf descriptors, so it always matches the routes and the contract.

use crate::routes::{self, Carry};
use crate::schema::{Schema, schema_name};
use serde_json::{Map, Value, json};

const ERROR_STATUSES: &[(&str, &str)] = &[
    ("400", "Invalid input; `field` names the offending field"),
    ("401", "Missing or invalid token"),
    ("403", "Not allowed for this role or municipality"),
    ("404", "No such record or region"),
    ("409", "Conflicts with the record's state or rules"),
    ("422", "Idempotency-Key reused with a different request"),
    ("429", "Rate limit exceeded; see Retry-After"),
    ("503", "The region is unavailable"),
    ("504", "The region did not answer in time"),
];

fn problem_schema() -> Value {
    json!({
        "type": "object",
        "required": ["type", "title", "status", "detail", "code", "reason"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "code": {"type": "string", "description": "The gRPC status code name"},
            "reason": {
                "type": "string",
                "enum": samling_kit::error::Reason::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                "description": "Why, machine-readable and stable (docs/reason-codes.md): act on this, not on the detail's English"
            },
            "field": {"type": "string", "description": "The invalid field's path (reason INVALID_FIELD, IDEMPOTENCY_KEY_REUSED, BODY_TOO_LARGE)"},
            "instance": {"type": "string", "description": "The request id"}
        }
    })
}

/// The document of a gateway serving `regions` (the values of `{region}`).
pub fn document(schema: &Schema, regions: &[String]) -> Value {
    let mut components = schema.components();
    components.insert("Problem".into(), problem_schema());
    // The schemas of the gateway's own (national) answers, per service.
    for service in routes::services() {
        for (name, answer) in (service.components)() {
            components.insert(name.into(), answer);
        }
    }
    let mut paths = Map::new();
    let links = links();
    for spec in routes::all() {
        let params = spec.path_params();
        let mut parameters: Vec<Value> = params
            .iter()
            .map(|p| match *p {
                "region" => json!({"name": p, "in": "path", "required": true,
                    "description": "The region whose services answer (the home's or child's region)",
                    "schema": {"type": "string", "enum": regions}}),
                _ => schema.path_parameter(spec.request, p),
            })
            .collect();
        if spec.carry == Carry::Query {
            parameters.extend(schema.query_parameters(spec.request, &params));
        }
        // Only where the gateway keeps answers: a check that stores nothing
        // (the public credential verification) ignores the header.
        if spec.mutating() && spec.keeps_answers() {
            parameters.push(json!({"name": "Idempotency-Key", "in": "header", "required": false,
                "description": "A retry with the same key returns the first answer",
                "schema": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[!-~]+$"}}));
        }
        // Not `maxLength`: a longer purpose is accepted and cut, not refused.
        parameters.push(json!({"name": "X-Purpose", "in": "header", "required": false,
            "description": "A reason this request states, recorded in the audit log beside the token's purpose, which it never replaces (its first 200 characters)", "schema": {"type": "string"}}));
        let mut responses = Map::new();
        responses.insert(
            "200".into(),
            json!({"description": "OK", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{}", schema_name(spec.response))}}}}),
        );
        if let Some(l) = links.get(spec.operation_id) {
            responses["200"]["links"] = Value::Object(l.clone());
        }
        let too_large = ("413", "The request body is over the gateway's limit");
        let body_errors = (spec.carry == Carry::Body).then_some(&too_large);
        for (code, why) in ERROR_STATUSES.iter().chain(body_errors) {
            responses.insert((*code).into(), json!({"description": why, "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}));
        }
        let roles: Vec<&str> = spec.roles.iter().map(|r| r.as_str()).collect();
        // A public route needs no token (an empty security requirement).
        let (description, security) = if spec.is_public() {
            (
                "Public: no login; limited per client address.".to_string(),
                json!([]),
            )
        } else {
            (
                format!("Roles: {}.", roles.join(", ")),
                json!([{"bearerAuth": []}]),
            )
        };
        let mut op = json!({
            "operationId": spec.operation_id,
            "summary": spec.summary,
            "description": description,
            "parameters": parameters,
            "responses": responses,
            "security": security,
        });
        if spec.carry == Carry::Body {
            let mut body_schema = schema.message_schema(spec.request, true);
            // Path parameters are taken from the path, not the body.
            if let Some(props) = body_schema
                .get_mut("properties")
                .and_then(Value::as_object_mut)
            {
                for p in &params {
                    props.remove(*p);
                }
            }
            if let Some(required) = body_schema
                .get_mut("required")
                .and_then(Value::as_array_mut)
            {
                required.retain(|r| !params.iter().any(|p| r == p));
            }
            // A body is required where it has a required field; otherwise an
            // absent body is an empty one.
            let required = body_schema
                .get("required")
                .and_then(Value::as_array)
                .is_some_and(|r| !r.is_empty());
            op["requestBody"] = json!({"required": required, "content": {"application/json": {"schema": body_schema}}});
        }
        let entry = paths
            .entry(spec.path.to_string())
            .or_insert_with(|| json!({}));
        entry[spec.method.to_lowercase()] = op;
    }
    // The statistics routes (not a service's: they ask every service).
    let (stat_paths, (name, schema)) = crate::statistics::openapi(regions);
    for (path, item) in stat_paths {
        paths.insert(path.to_string(), item);
    }
    components.insert(name.into(), schema);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Samling",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The family-home authority's REST API for municipalities, family homes and children. \
                Errors are RFC 9457 problem+json with the gRPC code and a stable `reason` (docs/reason-codes.md); \
                validation errors name the field. Dates are ISO 8601 strings (`2026-11-30`)."
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
        }
    })
}

/// OpenAPI links by the operation whose answer they start from: to every
/// operation taking the new record's id in its path whose other path
/// parameters the first request had too.
fn links() -> std::collections::BTreeMap<&'static str, Map<String, Value>> {
    let mut out: std::collections::BTreeMap<&str, Map<String, Value>> = Default::default();
    for (from_op, pointer, param) in routes::creates() {
        let Some(from) = routes::find(from_op) else {
            continue;
        };
        let known = from.path_params();
        for to in routes::all().filter(|r| r.path_params().contains(param)) {
            let others = to.path_params();
            if others.iter().any(|p| p != param && !known.contains(p)) {
                continue;
            }
            let mut parameters = Map::new();
            for p in others {
                let source = if p == *param {
                    format!("$response.body#{pointer}")
                } else {
                    format!("$request.path.{p}")
                };
                parameters.insert(format!("path.{p}"), Value::String(source));
            }
            out.entry(from.operation_id).or_default().insert(
                format!("{}By{}", to.operation_id, camel(param)),
                json!({"operationId": to.operation_id, "parameters": parameters}),
            );
        }
    }
    out
}

/// `home_request_id` → `HomeRequestId`.
fn camel(s: &str) -> String {
    s.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}
