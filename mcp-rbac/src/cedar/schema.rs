//! The Cedar schema of a server: entity types `User` (in `Role`), `Role`, `Tool`, `Prompt`,
//! `Resource`; actions `call_tool`, `get_prompt`, `read_resource`; the context of `call_tool`
//! typed from the tools' JSON input schemas.

use std::collections::{BTreeMap, BTreeSet};

use rmcp::model::{Prompt, Tool};
use serde_json::{json, Map, Value};

/// An argument's Cedar type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ArgType {
    Long,
    String,
    Bool,
    Set(Box<ArgType>),
    Record(Fields),
}

/// Argument name → type.
pub(crate) type Fields = BTreeMap<String, ArgType>;

impl ArgType {
    /// How an error names it.
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            ArgType::Long => "an integer",
            ArgType::String => "a string",
            ArgType::Bool => "a boolean",
            ArgType::Set(_) => "an array",
            ArgType::Record(_) => "an object",
        }
    }

    fn cedar(&self) -> Value {
        match self {
            ArgType::Long => json!({"type": "Long"}),
            ArgType::String => json!({"type": "String"}),
            ArgType::Bool => json!({"type": "Boolean"}),
            ArgType::Set(element) => json!({"type": "Set", "element": element.cedar()}),
            ArgType::Record(fields) => record(fields),
        }
    }
}

/// A record whose every attribute is optional: a list is decided without arguments, and one
/// context type serves every tool of the action.
fn record(fields: &Fields) -> Value {
    let attributes: Map<String, Value> = fields
        .iter()
        .map(|(name, ty)| {
            let mut attribute = ty.cedar();
            attribute["required"] = Value::Bool(false);
            (name.clone(), attribute)
        })
        .collect();
    json!({"type": "Record", "attributes": attributes})
}

/// The principal's attribute for the string claim `name`.
pub(crate) fn claim_attribute(name: &str) -> String {
    format!("claim_{name}")
}

pub(crate) struct Generated {
    pub(crate) json: Value,
    pub(crate) principal_attributes: Vec<String>,
    pub(crate) tool_fields: Fields,
    pub(crate) prompt_fields: Fields,
}

/// The schema for these tools and prompts, in Cedar's JSON schema format.
pub(crate) fn generate(tools: &[Tool], prompts: &[Prompt], string_claims: &[String]) -> Generated {
    let tool_fields = union(tools.iter().map(|tool| {
        let root = &*tool.input_schema;
        properties(root, root, 0)
    }));
    let prompt_fields = union(prompts.iter().map(|prompt| {
        prompt
            .arguments
            .iter()
            .flatten()
            .map(|a| (a.name.clone(), ArgType::String))
            .collect()
    }));
    let strings = json!({"type": "Set", "element": {"type": "String"}});
    let mut user = Map::new();
    user.insert("sub".into(), json!({"type": "String"}));
    user.insert("iss".into(), json!({"type": "String", "required": false}));
    user.insert("permissions".into(), strings.clone());
    user.insert("roles".into(), strings.clone());
    user.insert("scopes".into(), strings);
    for claim in string_claims {
        user.insert(
            claim_attribute(claim),
            json!({"type": "String", "required": false}),
        );
    }
    let principal_attributes = user.keys().cloned().collect();
    let applies = |resource: &str, context: Value| {
        json!({"appliesTo": {
            "principalTypes": ["User"],
            "resourceTypes": [resource],
            "context": context,
        }})
    };
    let json = json!({"": {
        "entityTypes": {
            "User": {
                "memberOfTypes": ["Role"],
                "shape": {"type": "Record", "attributes": user},
            },
            "Role": {},
            "Tool": {},
            "Prompt": {},
            "Resource": {},
        },
        "actions": {
            "call_tool": applies("Tool", record(&tool_fields)),
            "get_prompt": applies("Prompt", record(&prompt_fields)),
            "read_resource": applies("Resource", record(&Fields::new())),
        },
    }});
    Generated {
        json,
        principal_attributes,
        tool_fields,
        prompt_fields,
    }
}

/// Every field of every item; a name two items type differently is left out (a policy naming
/// it fails validation as an unknown attribute, so it cannot be relied on).
fn union(items: impl Iterator<Item = Fields>) -> Fields {
    let mut all = Fields::new();
    let mut conflicting = BTreeSet::new();
    for fields in items {
        for (name, ty) in fields {
            if conflicting.contains(&name) {
                continue;
            }
            match all.get(&name) {
                Some(existing) if *existing != ty => {
                    all.remove(&name);
                    conflicting.insert(name);
                }
                Some(_) => {}
                None => {
                    all.insert(name, ty);
                }
            }
        }
    }
    all
}

/// The properties of an object schema that Cedar can type (`number` and untyped ones are left
/// out).
fn properties(schema: &Map<String, Value>, root: &Map<String, Value>, depth: usize) -> Fields {
    let Some(Value::Object(properties)) =
        resolve(schema, root, depth).and_then(|s| s.get("properties"))
    else {
        return Fields::new();
    };
    properties
        .iter()
        .filter_map(|(name, property)| {
            let ty = type_of(property.as_object()?, root, depth + 1)?;
            Some((name.clone(), ty))
        })
        .collect()
}

/// Follows a local `$ref` (`#/$defs/Name`, `#/definitions/Name`), and the one non-null member of
/// an `anyOf`/`oneOf` (an `Option<T>` in schemars' output).
fn resolve<'a>(
    schema: &'a Map<String, Value>,
    root: &'a Map<String, Value>,
    depth: usize,
) -> Option<&'a Map<String, Value>> {
    if depth > 16 {
        return None;
    }
    if let Some(Value::String(reference)) = schema.get("$ref") {
        let path = reference.strip_prefix("#/")?;
        let mut target = root;
        for segment in path.split('/') {
            target = target.get(segment)?.as_object()?;
        }
        return resolve(target, root, depth + 1);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(members)) = schema.get(key) {
            let mut non_null = members
                .iter()
                .filter_map(Value::as_object)
                .filter(|m| m.get("type") != Some(&Value::String("null".into())));
            let only = non_null.next()?;
            if non_null.next().is_some() {
                return None;
            }
            return resolve(only, root, depth + 1);
        }
    }
    Some(schema)
}

fn type_of(
    schema: &Map<String, Value>,
    root: &Map<String, Value>,
    depth: usize,
) -> Option<ArgType> {
    let schema = resolve(schema, root, depth)?;
    let name = match schema.get("type")? {
        Value::String(name) => name.as_str(),
        Value::Array(names) => {
            let mut non_null = names
                .iter()
                .filter_map(Value::as_str)
                .filter(|n| *n != "null");
            let only = non_null.next()?;
            if non_null.next().is_some() {
                return None;
            }
            only
        }
        _ => return None,
    };
    Some(match name {
        "integer" => ArgType::Long,
        "string" => ArgType::String,
        "boolean" => ArgType::Bool,
        "array" => {
            let items = schema.get("items")?.as_object()?;
            ArgType::Set(Box::new(type_of(items, root, depth + 1)?))
        }
        "object" => ArgType::Record(properties(schema, root, depth + 1)),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(name: &str, schema: Value) -> Tool {
        let Value::Object(schema) = schema else {
            panic!("an object")
        };
        Tool::new(name.to_owned(), "", std::sync::Arc::new(schema))
    }

    #[test]
    fn json_schema_types_map_to_cedar_types() {
        let update = tool(
            "update",
            json!({
                "type": "object",
                "properties": {
                    "id": {"type": "integer", "format": "uint64"},
                    "name": {"type": ["string", "null"]},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "ratio": {"type": "number"},
                    "address": {"$ref": "#/$defs/Address"},
                    "backup": {"anyOf": [{"$ref": "#/$defs/Address"}, {"type": "null"}]},
                },
                "$defs": {"Address": {"type": "object", "properties": {"zip": {"type": "string"}}}},
            }),
        );
        let generated = generate(&[update], &[], &[]);
        let address = ArgType::Record(Fields::from([("zip".to_owned(), ArgType::String)]));
        assert_eq!(
            generated.tool_fields,
            Fields::from([
                ("address".to_owned(), address.clone()),
                ("backup".to_owned(), address),
                ("id".to_owned(), ArgType::Long),
                ("name".to_owned(), ArgType::String),
                ("tags".to_owned(), ArgType::Set(Box::new(ArgType::String))),
            ]),
            "`number` has no exact Cedar type and is left out"
        );
    }

    #[test]
    fn a_field_two_tools_type_differently_is_left_out() {
        let a = tool(
            "a",
            json!({"properties": {"id": {"type": "integer"}, "x": {"type": "string"}}}),
        );
        let b = tool(
            "b",
            json!({"properties": {"id": {"type": "string"}, "x": {"type": "string"}}}),
        );
        let c = tool("c", json!({"properties": {"id": {"type": "integer"}}}));
        let fields = generate(&[a, b, c], &[], &[]).tool_fields;
        assert_eq!(fields, Fields::from([("x".to_owned(), ArgType::String)]));
    }
}
