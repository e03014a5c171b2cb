//! `simulate schema`: the JSON Schema of scenario files. Its shape and
//! words come from the very types the parser reads a file into (serde and
//! their doc comments, by schemars); every numeric key's rule comes from
//! the key registry ([`crate::model::keys`]): its bounds, whether it takes
//! whole numbers only, its default, and the validator's words for the
//! rule, so that an editor that reads the schema refuses what the
//! validator refuses, from the same table.

use serde_json::{json, Map, Value};

use super::raw;
use crate::model::keys::{Key, Owner, Upper, KEYS};
use crate::model::Role;

/// The schema, as `simulate schema` prints it.
pub fn json_schema() -> String {
    let mut schema = schemars::schema_for!(raw::RawFile);
    // The schema itself is kept (not made a plain JSON value): its own
    // serialisation puts `$schema`, `title` and the like first.
    if let Some(defs) = schema.get_mut("$defs").and_then(Value::as_object_mut) {
        for key in KEYS {
            for table in tables(key.owner) {
                if let Some(prop) = property(defs, table, key.path) {
                    annotate(prop, key);
                }
            }
        }
    }
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}

/// The schema definitions (the raw structs) that carry `owner`'s keys.
fn tables(owner: Owner) -> Vec<&'static str> {
    match owner {
        Owner::Scenario => vec!["RawHeader"],
        Owner::Unit => vec!["RawUnit"],
        Owner::Valuation => vec!["RawValuation"],
        Owner::Policy => vec!["RawPolicy"],
        Owner::Terms(roles) => roles
            .iter()
            .map(|r| match r {
                Role::Core => "RawCore",
                Role::NonCore => "RawNonCore",
                Role::Innovation => "RawInnovation",
            })
            .chain(["RawOverride"])
            .collect(),
    }
}

/// The definition a property refers to: its own `$ref`, or the first of
/// its `anyOf` / `oneOf` / `allOf` alternatives that has one.
fn referred(prop: &Value) -> Option<&str> {
    let own = prop.get("$ref").and_then(Value::as_str);
    let alternatives = ["anyOf", "oneOf", "allOf"]
        .iter()
        .filter_map(|k| prop.get(*k).and_then(Value::as_array))
        .flatten()
        .filter_map(|alt| alt.get("$ref").and_then(Value::as_str));
    own.into_iter()
        .chain(alternatives)
        .find_map(|r| r.strip_prefix("#/$defs/"))
}

/// The property at dotted `path` below definition `table`, following
/// nested tables (`response.max_uplift`) through their definitions.
fn property<'a>(
    defs: &'a mut Map<String, Value>,
    table: &str,
    path: &str,
) -> Option<&'a mut Value> {
    let (first, rest) = match path.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (path, None),
    };
    match rest {
        None => defs.get_mut(table)?.get_mut("properties")?.get_mut(first),
        Some(rest) => {
            let prop = defs.get(table)?.get("properties")?.get(first)?;
            let inner = referred(prop)?.to_string();
            property(defs, &inner, rest)
        }
    }
}

/// `key`'s rule on its property: JSON Schema's bounds (they apply to a
/// number and leave a distribution's table alone), whole numbers, the
/// default, and the rule in the validator's words after the description.
fn annotate(prop: &mut Value, key: &Key) {
    let Some(obj) = prop.as_object_mut() else {
        return;
    };
    let rule = key.rule;
    if let Some((b, open)) = rule.lo {
        let name = if open { "exclusiveMinimum" } else { "minimum" };
        obj.insert(name.into(), json!(b));
    }
    if let Upper::At(b, open) = rule.hi {
        let name = if open { "exclusiveMaximum" } else { "maximum" };
        obj.insert(name.into(), json!(b));
    }
    if rule.whole {
        obj.insert("multipleOf".into(), json!(1));
    }
    if let Some(d) = key.default {
        obj.entry("default").or_insert(json!(d));
    }
    // A nested table shared by several owners (a gate on the innovation
    // table and on an override) is reached once per owner: say it once.
    let line = format!(
        "Rule: {}.",
        rule.text.replace("{spy}", "the scenario's steps per year")
    );
    let description = match obj.get("description").and_then(Value::as_str) {
        Some(d) if d.lines().any(|l| l == line) => return,
        Some(d) => format!("{d}\n{line}"),
        None => line,
    };
    obj.insert("description".into(), Value::String(description));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Value {
        serde_json::from_str(&json_schema()).unwrap()
    }

    #[test]
    fn every_registry_key_has_its_property_in_the_schema() {
        let v = serde_json::to_value(schemars::schema_for!(raw::RawFile)).unwrap();
        let mut defs = v["$defs"].as_object().unwrap().clone();
        for key in KEYS {
            for table in tables(key.owner) {
                assert!(
                    property(&mut defs, table, key.path).is_some(),
                    "{table} has no {}",
                    key.path
                );
            }
        }
    }

    #[test]
    fn bounds_defaults_and_words_come_from_the_registry() {
        let v = schema();
        let d = &v["$defs"];
        // A drawn key: its bounds sit beside the number-or-distribution.
        let vol = &d["RawUnit"]["properties"]["volatility"];
        assert_eq!(vol["minimum"], json!(0.0), "{vol}");
        assert!(vol.get("anyOf").is_some(), "{vol}");
        // A nested key, through its table's definition.
        let uplift = &d["RawResponse"]["properties"]["max_uplift"];
        assert_eq!(uplift["minimum"], json!(0.0), "{uplift}");
        // A share, on a policy and on every role table and override.
        let reinvest = &d["RawPolicy"]["properties"]["reinvest_share"];
        assert_eq!(
            (&reinvest["minimum"], &reinvest["maximum"]),
            (&json!(0.0), &json!(1.0))
        );
        let desc = reinvest["description"].as_str().unwrap();
        assert!(desc.ends_with("Rule: must be a share in [0, 1]."), "{desc}");
        for table in ["RawCore", "RawOverride"] {
            let i = &d[table]["properties"]["intensity"];
            assert!(i["description"].as_str().unwrap().contains("Rule: "), "{i}");
        }
        // The gate's table is reached from the innovation table and from
        // an override: its rule is said once.
        let year = d["RawGate"]["properties"]["year"]["description"]
            .as_str()
            .unwrap();
        assert_eq!(year.matches("Rule:").count(), 1, "{year}");
        // Growth is above -1, the bound itself refused.
        assert_eq!(
            d["RawUnit"]["properties"]["growth"]["exclusiveMinimum"],
            json!(-1.0)
        );
    }

    #[test]
    fn a_key_outside_the_registry_is_left_as_the_types_say() {
        let v = schema();
        let name = &v["$defs"]["RawUnit"]["properties"]["name"];
        assert!(name.get("minimum").is_none(), "{name}");
        assert!(!name["description"].as_str().unwrap_or("").contains("Rule:"));
    }
}
