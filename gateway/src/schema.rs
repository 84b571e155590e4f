//! What the gateway knows of the protobuf contract, read from the compiled
//! descriptor set: message fields for query-string conversion and the JSON
//! Schemas of the OpenAPI document (proto3 JSON mapping, snake_case names).

#![allow(clippy::result_large_err)] // Problem is the error response itself; it is built once per failed request.

use crate::problem::Problem;
use prost::Message;
use prost_types::field_descriptor_proto::{Label, Type};
use samling_proto::common::v1::FieldRules;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub ty: Type,
    /// Full name (".pkg.Name") of a message or enum type.
    pub type_name: String,
    pub repeated: bool,
    /// The field's `(samling.common.v1.rules)` option.
    pub rules: FieldRules,
    /// The field's leading comment in the .proto file.
    pub doc: String,
}

#[derive(Debug, Default)]
pub struct Schema {
    /// Full message name (without leading dot) → fields.
    pub messages: BTreeMap<String, Vec<Field>>,
    /// Full message name → its leading comment.
    pub docs: BTreeMap<String, String>,
    pub enums: BTreeMap<String, Vec<String>>,
}

/// Just enough of `google.protobuf.FileDescriptorSet` to read each field's
/// `(samling.common.v1.rules)` option (extension 50100 of `FieldOptions`),
/// which prost-types' own `FieldOptions` does not keep.
mod with_rules {
    use samling_proto::common::v1::FieldRules;

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Set {
        #[prost(message, repeated, tag = "1")]
        pub file: Vec<File>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct File {
        #[prost(string, tag = "2")]
        pub package: String,
        #[prost(message, repeated, tag = "4")]
        pub message_type: Vec<Message>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Message {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(message, repeated, tag = "2")]
        pub field: Vec<Field>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Field {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(message, optional, tag = "8")]
        pub options: Option<Options>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Options {
        #[prost(message, optional, tag = "50100")]
        pub rules: Option<FieldRules>,
    }
}

/// `samling.common.v1.Date` is a string in JSON, an ISO 8601 date
/// (`"2026-11-30"`, samling-proto's own serde): a scalar here, in query
/// strings and in the document (`format: date`), not a message of parts.
pub const DATE: &str = "samling.common.v1.Date";

/// Whether the field is a date (see [`DATE`]).
pub fn is_date(f: &Field) -> bool {
    f.ty == Type::Message && f.type_name == DATE
}

/// A comment from the .proto source as one paragraph of text.
fn comment(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Schema {
    pub fn load() -> anyhow::Result<Self> {
        let bytes = samling_proto::FILE_DESCRIPTOR_SET;
        let fds = prost_types::FileDescriptorSet::decode(bytes)?;
        let mut rules: BTreeMap<(String, String), FieldRules> = BTreeMap::new();
        for file in with_rules::Set::decode(bytes)?.file {
            for m in file.message_type {
                for f in m.field {
                    if let Some(r) = f.options.and_then(|o| o.rules) {
                        rules.insert((format!("{}.{}", file.package, m.name), f.name), r);
                    }
                }
            }
        }
        let mut s = Schema::default();
        for file in fds.file {
            let pkg = file.package().to_string();
            if pkg == "google.protobuf" {
                continue;
            }
            // Leading comments by their descriptor path: [4, m] is message m,
            // [4, m, 2, f] its field f.
            let mut comments: BTreeMap<Vec<i32>, String> = BTreeMap::new();
            for loc in file.source_code_info.iter().flat_map(|i| &i.location) {
                if let Some(c) = loc.leading_comments.as_deref().map(comment)
                    && !c.is_empty()
                {
                    comments.insert(loc.path.clone(), c);
                }
            }
            for e in &file.enum_type {
                s.enums.insert(
                    format!("{pkg}.{}", e.name()),
                    e.value.iter().map(|v| v.name().to_string()).collect(),
                );
            }
            for (mi, m) in file.message_type.iter().enumerate() {
                let full = format!("{pkg}.{}", m.name());
                let fields = m
                    .field
                    .iter()
                    .enumerate()
                    .map(|(fi, f)| Field {
                        name: f.name().to_string(),
                        ty: f.r#type(),
                        type_name: f.type_name().trim_start_matches('.').to_string(),
                        repeated: f.label() == Label::Repeated,
                        rules: rules
                            .remove(&(full.clone(), f.name().to_string()))
                            .unwrap_or_default(),
                        doc: comments
                            .remove(&vec![4, mi as i32, 2, fi as i32])
                            .unwrap_or_default(),
                    })
                    .collect();
                if let Some(doc) = comments.remove(&vec![4, mi as i32]) {
                    s.docs.insert(full.clone(), doc);
                }
                s.messages.insert(full, fields);
            }
        }
        Ok(s)
    }

    pub fn fields(&self, message: &str) -> &[Field] {
        self.messages.get(message).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn has_field(&self, message: &str, name: &str) -> bool {
        self.fields(message).iter().any(|f| f.name == name)
    }

    /// A query-string or path value as the JSON the field expects.
    fn scalar(&self, f: &Field, name: &str, raw: &str) -> Result<Value, Problem> {
        let bad = |what: &str| Problem::invalid(name, format!("must be {what}"));
        Ok(match f.ty {
            Type::Bool => match raw {
                "true" | "1" => Value::Bool(true),
                "false" | "0" => Value::Bool(false),
                _ => return Err(bad("true or false")),
            },
            Type::Int32 | Type::Sint32 | Type::Sfixed32 => {
                json!(raw.parse::<i32>().map_err(|_| bad("an integer"))?)
            }
            Type::Uint32 | Type::Fixed32 => json!(
                raw.parse::<u32>()
                    .map_err(|_| bad("a non-negative integer"))?
            ),
            Type::Int64 | Type::Sint64 | Type::Sfixed64 => json!(
                raw.parse::<i64>()
                    .map_err(|_| bad("an integer"))?
                    .to_string()
            ),
            Type::Uint64 | Type::Fixed64 => json!(
                raw.parse::<u64>()
                    .map_err(|_| bad("a non-negative integer"))?
                    .to_string()
            ),
            Type::Double | Type::Float => json!(raw.parse::<f64>().map_err(|_| bad("a number"))?),
            Type::Enum => {
                let values = self.enums.get(&f.type_name).cloned().unwrap_or_default();
                if !values.iter().any(|v| v == raw) {
                    return Err(bad(&format!("one of {}", values.join(", "))));
                }
                Value::String(raw.to_string())
            }
            // Checked as the body's dates are, when the request is decoded.
            Type::Message if f.type_name == DATE => Value::String(raw.to_string()),
            Type::Message => return Err(bad("given as <field>.<subfield>")),
            _ => Value::String(raw.to_string()),
        })
    }

    /// Merge query parameters into `obj` for `message`. `page.page_size`
    /// style names reach one level into a message field.
    pub fn merge_query<'a>(
        &self,
        message: &str,
        obj: &mut Map<String, Value>,
        pairs: impl IntoIterator<Item = &'a (String, String)>,
    ) -> Result<(), Problem> {
        for (name, raw) in pairs {
            self.merge_param(message, obj, name, name, raw)?;
        }
        Ok(())
    }

    /// One parameter `name`, of which `short` is the part inside `message`
    /// (all of it at the top; `page_size` of `page.page_size` one level in).
    /// Errors name the parameter as sent.
    fn merge_param(
        &self,
        message: &str,
        obj: &mut Map<String, Value>,
        name: &str,
        short: &str,
        raw: &str,
    ) -> Result<(), Problem> {
        let (head, rest) = match short.split_once('.') {
            Some((h, r)) => (h, Some(r)),
            None => (short, None),
        };
        let f = self
            .fields(message)
            .iter()
            .find(|f| f.name == head)
            .ok_or_else(|| Problem::invalid(name, "is not a parameter of this operation"))?;
        match rest {
            Some(sub) if f.ty == Type::Message && !f.repeated && !is_date(f) => {
                let inner = obj
                    .entry(head.to_string())
                    .or_insert_with(|| Value::Object(Map::new()));
                let Value::Object(inner) = inner else {
                    return Err(Problem::invalid(name, "conflicts with another parameter"));
                };
                self.merge_param(&f.type_name, inner, name, sub, raw)
            }
            Some(_) => Err(Problem::invalid(
                name,
                "is not a parameter of this operation",
            )),
            None if f.repeated => {
                let v = self.scalar(f, name, raw)?;
                match obj
                    .entry(head.to_string())
                    .or_insert_with(|| Value::Array(vec![]))
                {
                    Value::Array(a) => {
                        a.push(v);
                        Ok(())
                    }
                    _ => Err(Problem::invalid(name, "conflicts with another parameter")),
                }
            }
            None => {
                if obj.contains_key(head) {
                    return Err(Problem::invalid(name, "is given twice"));
                }
                obj.insert(head.to_string(), self.scalar(f, name, raw)?);
                Ok(())
            }
        }
    }

    /// The JSON Schema of one field (never `null`: a field is left out
    /// instead), as answered (`input` false) or as a request must send it (`input`: its rules apply in full, messages
    /// refer to their input variants).
    pub fn field_schema(&self, f: &Field, input: bool) -> Value {
        let r = &f.rules;
        let mut one = match f.ty {
            Type::Bool => json!({"type": "boolean"}),
            Type::Int32 | Type::Sint32 | Type::Sfixed32 => {
                json!({"type": "integer", "format": "int32"})
            }
            Type::Uint32 | Type::Fixed32 => {
                json!({"type": "integer", "minimum": 0, "maximum": u32::MAX})
            }
            // Answered as strings; a request may send a number too (proto3 JSON).
            Type::Int64 | Type::Sint64 | Type::Sfixed64 if input => {
                json!({"type": ["string", "integer"], "pattern": "^-?[0-9]{1,19}$"})
            }
            Type::Int64 | Type::Sint64 | Type::Sfixed64 => {
                json!({"type": "string", "pattern": "^-?[0-9]{1,19}$", "description": "64-bit integer as a string"})
            }
            Type::Uint64 | Type::Fixed64 if input => {
                json!({"type": ["string", "integer"], "pattern": "^[0-9]{1,20}$", "minimum": 0})
            }
            Type::Uint64 | Type::Fixed64 => json!({"type": "string", "pattern": "^[0-9]{1,20}$"}),
            Type::Double | Type::Float => json!({"type": "number"}),
            Type::Message if f.type_name == DATE => json!({"type": "string", "format": "date"}),
            Type::Enum => {
                let mut values = self.enums.get(&f.type_name).cloned().unwrap_or_default();
                if input {
                    values.retain(|v| {
                        let unset = r.required && v.ends_with("_UNSPECIFIED");
                        !unset && !r.excluded_values.contains(v)
                    });
                }
                json!({"type": "string", "enum": values})
            }
            Type::Message => {
                let checked_here = !r.reported_per_item;
                let name = if input && checked_here && self.has_input_variant(&f.type_name) {
                    input_name(&f.type_name)
                } else {
                    schema_name(&f.type_name)
                };
                json!({"$ref": format!("#/components/schemas/{name}")})
            }
            _ => json!({"type": "string"}),
        };
        if input
            && matches!(
                f.ty,
                Type::Int32 | Type::Sint32 | Type::Sfixed32 | Type::Uint32 | Type::Fixed32
            )
        {
            if let Some(min) = r.minimum {
                one["minimum"] = json!(min);
            }
            if let Some(max) = r.maximum {
                one["maximum"] = json!(max);
            }
        }
        if input && f.ty == Type::String {
            match r.format.as_str() {
                "uuid" => one["format"] = json!("uuid"),
                // The reference data's codes, which is what the services accept.
                "municipality-code" => {
                    one = json!({"$ref": "#/components/schemas/MunicipalityCode"})
                }
                "county-code" => one = json!({"$ref": "#/components/schemas/CountyCode"}),
                _ => {}
            }
            if r.required && one.get("$ref").is_none() {
                one["minLength"] = json!(1);
            }
        }
        let mut out = if f.repeated {
            json!({"type": "array", "items": one})
        } else {
            one
        };
        if !f.doc.is_empty() {
            out["description"] = json!(f.doc);
        }
        out
    }

    /// Holds a request's values to what the document says where serde alone
    /// would read them otherwise: `null` is no field's value (a field is left
    /// out instead); an enum is named, not numbered; a number written with a
    /// zero fraction (`3.0`, `1e2`) is the integer it is (JSON Schema's
    /// `integer` and the proto3 JSON mapping take it; serde reads a float,
    /// which no integer field takes). Errors name the field.
    pub fn plain_values(
        &self,
        message: &str,
        obj: &mut Map<String, Value>,
        path: &str,
    ) -> Result<(), Problem> {
        for (k, v) in obj.iter_mut() {
            let name = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            let field = self.fields(message).iter().find(|f| f.name == *k);
            match v {
                Value::Array(items) => {
                    for (i, item) in items.iter_mut().enumerate() {
                        self.plain_value(field, item, &format!("{name}[{i}]"))?;
                    }
                }
                _ => self.plain_value(field, v, &name)?,
            }
        }
        Ok(())
    }

    fn plain_value(&self, field: Option<&Field>, v: &mut Value, name: &str) -> Result<(), Problem> {
        match v {
            Value::Null => Err(Problem::invalid(
                name,
                "must not be null (leave the field out instead)",
            )),
            Value::Number(n) => {
                if let Some(f) = field.filter(|f| f.ty == Type::Enum) {
                    let values = self.enums.get(&f.type_name).cloned().unwrap_or_default();
                    return Err(Problem::invalid(
                        name,
                        format!("must be one of {}", values.join(", ")),
                    ));
                }
                if let Some(x) = n.as_f64().filter(|_| n.is_f64())
                    && x.fract() == 0.0
                    && x.abs() < 9.0e15
                {
                    *v = Value::from(x as i64);
                }
                Ok(())
            }
            Value::Object(map) => match field.filter(|f| f.ty == Type::Message) {
                Some(f) => self.plain_values(&f.type_name, map, name),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// Whether a request's form of `message` differs from the answer's: it
    /// (or a message in it) has a field with rules or a 64-bit integer. The
    /// answer's form is the plain types: rules are what a request must meet.
    pub fn has_input_variant(&self, message: &str) -> bool {
        fn walk<'a>(s: &'a Schema, m: &'a str, seen: &mut Vec<&'a str>) -> bool {
            if seen.contains(&m) {
                return false;
            }
            seen.push(m);
            s.fields(m).iter().any(|f| {
                let r = &f.rules;
                r.required
                    || !r.format.is_empty()
                    || r.minimum.is_some()
                    || r.maximum.is_some()
                    || !r.excluded_values.is_empty()
                    // 64-bit integers: a request may send numbers too.
                    || matches!(
                        f.ty,
                        Type::Int64 | Type::Sint64 | Type::Sfixed64 | Type::Uint64 | Type::Fixed64
                    )
                    || (f.ty == Type::Message
                        && !is_date(f)
                        && !f.rules.reported_per_item
                        && walk(s, &f.type_name, seen))
            })
        }
        walk(self, message, &mut Vec::new())
    }

    /// The JSON Schema of a message, as answered or as a request sends it
    /// (then with its required fields listed).
    pub fn message_schema(&self, message: &str, input: bool) -> Value {
        let fields = self.fields(message);
        let props: Map<String, Value> = fields
            .iter()
            .map(|f| (f.name.clone(), self.field_schema(f, input)))
            .collect();
        let mut out = json!({"type": "object", "properties": props, "additionalProperties": false});
        let required: Vec<&str> = fields
            .iter()
            .filter(|f| input && f.rules.required)
            .map(|f| f.name.as_str())
            .collect();
        if !required.is_empty() {
            out["required"] = json!(required);
        }
        if let Some(doc) = self.docs.get(message) {
            out["description"] = json!(doc);
        }
        out
    }

    /// Schemas of every message, keyed by their OpenAPI component name: as
    /// answered, and as sent (`…Input`) where that differs; and the SCB codes
    /// the named formats refer to.
    pub fn components(&self) -> Map<String, Value> {
        let mut out = Map::new();
        use samling_kit::reference::{counties, municipalities};
        out.insert(
            "MunicipalityCode".into(),
            json!({"type": "string", "description": "SCB municipality code (kommunkod): one of Sweden's 290 municipalities",
                "enum": municipalities().map(|m| m.as_str()).collect::<Vec<_>>()}),
        );
        out.insert(
            "CountyCode".into(),
            json!({"type": "string", "description": "SCB county code (länskod): one of Sweden's 21 counties",
                "enum": counties().map(|c| c.as_str()).collect::<Vec<_>>()}),
        );
        // A date is a string (`format: date`) wherever it appears, not a component.
        for name in self.messages.keys().filter(|n| *n != DATE) {
            out.insert(schema_name(name), self.message_schema(name, false));
            if self.has_input_variant(name) {
                out.insert(input_name(name), self.message_schema(name, true));
            }
        }
        out
    }

    /// Query parameters of a GET operation: the request's scalar fields (and
    /// `page.*`), minus those taken from the path.
    pub fn query_parameters(&self, message: &str, path_params: &[&str]) -> Vec<Value> {
        let param = |name: String, f: &Field| {
            let mut p = json!({"name": name, "in": "query", "required": f.rules.required, "schema": self.field_schema(f, true)});
            if let Some(d) = p["schema"]
                .as_object_mut()
                .and_then(|s| s.remove("description"))
            {
                p["description"] = d;
            }
            if f.repeated {
                p["explode"] = json!(true);
                p["style"] = json!("form");
            }
            p
        };
        let mut out = Vec::new();
        for f in self.fields(message) {
            if path_params.contains(&f.name.as_str()) || f.name == "request_id" {
                continue;
            }
            if f.ty == Type::Message && !is_date(f) {
                if f.repeated {
                    continue;
                }
                for sub in self.fields(&f.type_name) {
                    if sub.ty != Type::Message || is_date(sub) {
                        out.push(param(format!("{}.{}", f.name, sub.name), sub));
                    }
                }
                continue;
            }
            out.push(param(f.name.clone(), f));
        }
        out
    }

    /// The schema of path parameter `name` of a route whose request is
    /// `message`: the field's, when the request has one.
    pub fn path_parameter(&self, message: &str, name: &str) -> Value {
        let mut schema = self
            .fields(message)
            .iter()
            .find(|f| f.name == name && f.ty == Type::String && !f.repeated)
            .map(|f| self.field_schema(f, true))
            .unwrap_or_else(|| json!({"type": "string"}));
        schema["minLength"] = json!(1);
        let description = schema.as_object_mut().and_then(|s| s.remove("description"));
        let mut p = json!({"name": name, "in": "path", "required": true, "schema": schema});
        if let Some(d) = description {
            p["description"] = d;
        }
        p
    }
}

/// The component name of a message's request form: `registry.v1.HomeDraftInput`.
pub fn input_name(full: &str) -> String {
    format!("{}Input", schema_name(full))
}

/// `samling.registry.v1.Home` → `registry.v1.Home`.
pub fn schema_name(full: &str) -> String {
    full.trim_start_matches("samling.").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_is_read_from_the_descriptors() {
        let s = Schema::load().unwrap();
        assert!(s.has_field("samling.registry.v1.Home", "reconfirmation_overdue"));
        assert!(
            s.enums["samling.registry.v1.HomeType"].contains(&"HOME_TYPE_FAMILY_HOME".to_string())
        );
    }

    #[test]
    fn the_rules_in_the_protos_reach_the_request_schemas_only() {
        let s = Schema::load().unwrap();
        let c = s.components();
        let draft = &c["registry.v1.HomeDraftInput"];
        let required = draft["required"].as_array().unwrap();
        for f in ["home_type", "provider", "municipality_code", "address"] {
            assert!(required.contains(&json!(f)), "{f} is required");
        }
        assert_eq!(
            draft["properties"]["municipality_code"]["$ref"],
            "#/components/schemas/MunicipalityCode"
        );
        let codes = c["MunicipalityCode"]["enum"].as_array().unwrap();
        assert_eq!(codes.len(), 290);
        assert!(codes.contains(&json!("0180")) && codes.contains(&json!("2584")));
        assert_eq!(draft["properties"]["capacity"]["maximum"], 10);
        assert!(
            !draft["properties"]["home_type"]["enum"]
                .as_array()
                .unwrap()
                .contains(&json!("HOME_TYPE_UNSPECIFIED"))
        );
        // An answer's form: plain types, every value it may hold.
        let answer = &c["registry.v1.HomeDraft"];
        assert!(answer.get("required").is_none());
        assert!(
            answer["properties"]["municipality_code"]
                .get("pattern")
                .is_none()
        );
        // A resolution may not set a flag back to open.
        let res = s.message_schema("samling.registry.v1.ResolveDuplicateFlagRequest", true);
        assert_eq!(
            res["properties"]["resolution"]["enum"],
            json!([
                "DUPLICATE_STATUS_CONFIRMED_DUPLICATE",
                "DUPLICATE_STATUS_NOT_DUPLICATE"
            ])
        );
        // Import rows are checked one by one and reported: their drafts are
        // the plain form, not refused with the request.
        assert!(c.get("registry.v1.ImportRowInput").is_none());
        assert_eq!(
            c["registry.v1.ImportRow"]["properties"]["draft"]["$ref"],
            "#/components/schemas/registry.v1.HomeDraft"
        );
        // Comments in the protos become descriptions.
        assert!(
            answer["properties"]["capacity"]["description"]
                .as_str()
                .unwrap()
                .contains("normal maximum")
        );
        // A date is an ISO 8601 string, asked and answered, and no component.
        let end = s.message_schema("samling.registry.v1.EndPlacementRequest", true);
        assert_eq!(end["properties"]["end_date"]["type"], "string");
        assert_eq!(end["properties"]["end_date"]["format"], "date");
        assert!(
            end["required"]
                .as_array()
                .unwrap()
                .contains(&json!("end_date"))
        );
        let placement = &c["registry.v1.Placement"];
        assert_eq!(placement["properties"]["start_date"]["format"], "date");
        assert!(
            c.keys().all(|k| !k.starts_with("common.v1.Date")),
            "a Date component"
        );
        // Path ids are UUIDs.
        let p = s.path_parameter("samling.registry.v1.GetHomeRequest", "home_id");
        assert_eq!(p["schema"]["format"], "uuid");
    }

    #[test]
    fn request_values_are_held_to_the_document() {
        let s = Schema::load().unwrap();
        let m = "samling.registry.v1.CreateHomeRequest";
        let mut obj = json!({"draft": {"capacity": 3.0, "willingness": ["WILLINGNESS_EMERGENCY"]}});
        s.plain_values(m, obj.as_object_mut().unwrap(), "").unwrap();
        assert_eq!(obj["draft"]["capacity"], json!(3));
        assert!(obj["draft"]["capacity"].is_i64());
        let mut obj = json!({"draft": {"address": null}});
        let e = s
            .plain_values(m, obj.as_object_mut().unwrap(), "")
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("draft.address"));
        let mut obj = json!({"draft": {"willingness": ["WILLINGNESS_EMERGENCY", 2]}});
        let e = s
            .plain_values(m, obj.as_object_mut().unwrap(), "")
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("draft.willingness[1]"));
        assert!(e.detail.contains("WILLINGNESS_SHORT_TERM"), "{}", e.detail);
    }

    #[test]
    fn query_strings_become_typed_json() {
        let s = Schema::load().unwrap();
        let mut obj = Map::new();
        let pairs = [
            ("competences".to_string(), "npf".to_string()),
            ("competences".to_string(), "trauma".to_string()),
            ("with_free_capacity".to_string(), "true".to_string()),
            ("page.page_size".to_string(), "10".to_string()),
        ];
        s.merge_query("samling.registry.v1.SearchHomesRequest", &mut obj, &pairs)
            .unwrap();
        assert_eq!(
            Value::Object(obj),
            json!({"competences": ["npf", "trauma"], "with_free_capacity": true, "page": {"page_size": 10}})
        );
    }

    #[test]
    fn a_date_is_one_iso_string_in_query_body_and_answer() {
        use samling_proto::registry::v1::{EndPlacementRequest, ListOverdueHomesRequest};
        let s = Schema::load().unwrap();
        let m = "samling.registry.v1.ListOverdueHomesRequest";
        let names: Vec<Value> = s
            .query_parameters(m, &["region"])
            .into_iter()
            .filter(|p| p["name"] == "as_of")
            .collect();
        assert_eq!(names.len(), 1, "one as_of parameter, not its parts");
        assert_eq!(names[0]["schema"]["format"], "date");
        let mut obj = Map::new();
        s.merge_query(m, &mut obj, &[("as_of".into(), "2026-11-30".into())])
            .unwrap();
        let req: ListOverdueHomesRequest = crate::dispatch::decode(&s, m, obj).unwrap();
        let as_of = req.as_of.unwrap();
        assert_eq!((as_of.year, as_of.month, as_of.day), (2026, 11, 30));
        let e = s
            .merge_query(m, &mut Map::new(), &[("as_of.year".into(), "2026".into())])
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("as_of.year"));
        // Not a date, in the query or the body: 400 naming the field.
        for bad in ["2026-02-30", "2026-1-5", "", "30/11/2026"] {
            let mut obj = Map::new();
            s.merge_query(m, &mut obj, &[("as_of".into(), bad.into())])
                .unwrap();
            let e = crate::dispatch::decode::<ListOverdueHomesRequest>(&s, m, obj).unwrap_err();
            assert_eq!(
                (e.status, e.field.as_deref()),
                (400, Some("as_of")),
                "{bad:?}"
            );
            assert_eq!(e.reason, samling_kit::error::Reason::InvalidField);
        }
        let m = "samling.registry.v1.EndPlacementRequest";
        for (bad, why) in [
            (json!("2026-02-30"), "not a valid date"),
            (json!("2026-1-5"), "YYYY-MM-DD"),
            (json!(""), "YYYY-MM-DD"),
            (json!({"year": 2026, "month": 11, "day": 30}), "YYYY-MM-DD"),
            (json!(20261130), "YYYY-MM-DD"),
        ] {
            let obj = json!({"end_date": bad}).as_object().unwrap().clone();
            let e = crate::dispatch::decode::<EndPlacementRequest>(&s, m, obj).unwrap_err();
            assert_eq!(
                (e.status, e.field.as_deref()),
                (400, Some("end_date")),
                "{bad}"
            );
            assert!(e.detail.contains(why), "{bad}: {}", e.detail);
        }
        let obj = json!({"end_date": "2026-11-30"})
            .as_object()
            .unwrap()
            .clone();
        let req: EndPlacementRequest = crate::dispatch::decode(&s, m, obj).unwrap();
        assert_eq!(
            serde_json::to_value(&req).unwrap()["end_date"],
            "2026-11-30"
        );
    }

    #[test]
    fn an_unknown_or_mistyped_parameter_is_named() {
        let s = Schema::load().unwrap();
        let mut obj = Map::new();
        let e = s
            .merge_query(
                "samling.registry.v1.SearchHomesRequest",
                &mut obj,
                &[("colour".into(), "x".into())],
            )
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("colour"));
        let e = s
            .merge_query(
                "samling.registry.v1.SearchHomesRequest",
                &mut obj,
                &[("with_free_capacity".into(), "yes".into())],
            )
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("with_free_capacity"));
    }
}
