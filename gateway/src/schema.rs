//! What the gateway knows of the protobuf contract, read from the compiled
//! descriptor set: message fields for query-string conversion and the JSON
//! Schemas of the OpenAPI document (proto3 JSON mapping, snake_case names).

#![allow(clippy::result_large_err)] // Problem is the error response itself; it is built once per failed request.

use crate::problem::Problem;
use prost::Message;
use prost_types::field_descriptor_proto::{Label, Type};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub ty: Type,
    /// Full name (".pkg.Name") of a message or enum type.
    pub type_name: String,
    pub repeated: bool,
}

#[derive(Debug, Default)]
pub struct Schema {
    /// Full message name (without leading dot) → fields.
    pub messages: BTreeMap<String, Vec<Field>>,
    pub enums: BTreeMap<String, Vec<String>>,
}

impl Schema {
    pub fn load() -> anyhow::Result<Self> {
        let fds = prost_types::FileDescriptorSet::decode(samling_proto::FILE_DESCRIPTOR_SET)?;
        let mut s = Schema::default();
        for file in fds.file {
            let pkg = file.package().to_string();
            for e in &file.enum_type {
                s.enums.insert(
                    format!("{pkg}.{}", e.name()),
                    e.value.iter().map(|v| v.name().to_string()).collect(),
                );
            }
            for m in &file.message_type {
                let fields = m
                    .field
                    .iter()
                    .map(|f| Field {
                        name: f.name().to_string(),
                        ty: f.r#type(),
                        type_name: f.type_name().trim_start_matches('.').to_string(),
                        repeated: f.label() == Label::Repeated,
                    })
                    .collect();
                s.messages.insert(format!("{pkg}.{}", m.name()), fields);
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
            Some(sub) if f.ty == Type::Message && !f.repeated => {
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

    /// The JSON Schema of one field.
    fn field_schema(&self, f: &Field) -> Value {
        let one = match f.ty {
            Type::Bool => json!({"type": "boolean"}),
            Type::Int32 | Type::Sint32 | Type::Sfixed32 => {
                json!({"type": "integer", "format": "int32"})
            }
            Type::Uint32 | Type::Fixed32 => {
                json!({"type": "integer", "format": "int32", "minimum": 0})
            }
            Type::Int64 | Type::Sint64 | Type::Sfixed64 => {
                json!({"type": "string", "pattern": "^-?[0-9]{1,19}$", "description": "64-bit integer as a string"})
            }
            Type::Uint64 | Type::Fixed64 => json!({"type": "string", "pattern": "^[0-9]{1,20}$"}),
            Type::Double | Type::Float => json!({"type": "number"}),
            Type::Enum => {
                json!({"type": "string", "enum": self.enums.get(&f.type_name).cloned().unwrap_or_default()})
            }
            Type::Message => {
                json!({"$ref": format!("#/components/schemas/{}", schema_name(&f.type_name))})
            }
            _ => json!({"type": "string"}),
        };
        if f.repeated {
            json!({"type": "array", "items": one})
        } else {
            one
        }
    }

    /// Schemas of every message, keyed by their OpenAPI component name.
    pub fn components(&self) -> Map<String, Value> {
        let mut out = Map::new();
        for (name, fields) in &self.messages {
            let props: Map<String, Value> = fields
                .iter()
                .map(|f| (f.name.clone(), self.field_schema(f)))
                .collect();
            out.insert(
                schema_name(name),
                json!({"type": "object", "properties": props, "additionalProperties": false}),
            );
        }
        out
    }

    /// Query parameters of a GET operation: the request's scalar fields (and
    /// `page.*`), minus those taken from the path.
    pub fn query_parameters(&self, message: &str, path_params: &[&str]) -> Vec<Value> {
        let mut out = Vec::new();
        for f in self.fields(message) {
            if path_params.contains(&f.name.as_str()) || f.name == "request_id" {
                continue;
            }
            if f.ty == Type::Message {
                if f.repeated {
                    continue;
                }
                for sub in self.fields(&f.type_name) {
                    if sub.ty != Type::Message {
                        out.push(json!({"name": format!("{}.{}", f.name, sub.name), "in": "query", "required": false, "schema": self.field_schema(sub)}));
                    }
                }
                continue;
            }
            let mut p = json!({"name": f.name, "in": "query", "required": false, "schema": self.field_schema(f)});
            if f.repeated {
                p["explode"] = json!(true);
                p["style"] = json!("form");
            }
            out.push(p);
        }
        out
    }
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
