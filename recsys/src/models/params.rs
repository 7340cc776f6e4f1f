//! Hyper-parameters declared once: a builder derives serde, and its
//! `params()`, `set_param` and the list of known keys all come from that
//! one declaration, so they cannot disagree.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{Error, Result};

/// `key = value` text into a serde value: JSON (as `params()` lists
/// values) or TOML syntax (`0.01`, `true`, `[256, 128]`,
/// `{ kind = "adamw", weight_decay = 0.01 }`), else the text itself as a
/// string (`cpu`, `cosine`).
pub(crate) fn value_of(value: &str) -> Value {
    if let Ok(v) = serde_json::from_str(value) {
        return v;
    }
    toml::from_str::<toml::Table>(&format!("v = {value}"))
        .ok()
        .and_then(|t| t.get("v").cloned())
        .and_then(|v| serde_json::to_value(v).ok())
        .unwrap_or_else(|| Value::String(value.trim().to_string()))
}

/// A serde value as `params()` lists it: strings bare, everything else
/// as JSON.
pub(crate) fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The fields of `p` as `(name, value)` pairs in declaration order, as
/// reports and `--param` spell them: a nested object is flattened one
/// level (a tagged enum as its `kind` under the field's name, then its
/// other fields, e.g. `weighting = bm25, k1 = 1.2, b = 0.75`); `null`
/// fields (an optional setting that is off) are left out.
pub(crate) fn params_of<T: Serialize>(p: &T) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(fields) = ordered_fields(p) {
        for (k, v) in &fields {
            match v {
                Value::Null => {}
                Value::Object(o) => {
                    if let Some(kind) = o.get("kind") {
                        out.push((k.clone(), text(kind)));
                    }
                    for (k2, v2) in o {
                        if k2 != "kind" && !v2.is_null() {
                            out.push((k2.clone(), text(v2)));
                        }
                    }
                }
                other => out.push((k.clone(), text(other))),
            }
        }
    }
    out
}

/// The top-level fields of `p` in declaration order (`serde_json::Value`
/// objects sort their keys; the serialized text keeps the order).
fn ordered_fields<T: Serialize>(p: &T) -> Option<Vec<(String, Value)>> {
    struct Ordered(Vec<(String, Value)>);
    impl<'de> serde::Deserialize<'de> for Ordered {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = Ordered;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> std::result::Result<Ordered, A::Error> {
                    let mut v = Vec::new();
                    while let Some(entry) = map.next_entry::<String, Value>()? {
                        v.push(entry);
                    }
                    Ok(Ordered(v))
                }
            }
            d.deserialize_map(V)
        }
    }
    let text = serde_json::to_string(p).ok()?;
    serde_json::from_str::<Ordered>(&text).ok().map(|o| o.0)
}

/// `p` with field `key` set from text, through serde: `aliases` map the
/// names of nested fields that [`params_of`] lists to their paths
/// (`("k1", "weighting.k1")`; a missing parent object is created, so its
/// type's defaults fill the rest); a bare word for a tagged enum field is
/// its `kind`. An unknown key is an error listing the known ones; a value
/// of the wrong type an error naming the key. The caller checks the
/// result (and restores fields serde skips) before keeping it.
pub(crate) fn updated<T: Serialize + DeserializeOwned>(
    p: &T,
    model: &str,
    key: &str,
    value: &str,
    aliases: &[(&str, &str)],
) -> Result<T> {
    let path = aliases
        .iter()
        .find(|(a, _)| *a == key)
        .map_or(key, |(_, k)| k);
    let mut json = serde_json::to_value(p)
        .map_err(|e| Error::param(key, format!("cannot encode the parameters: {e}")))?;
    let unknown = |json: &Value| {
        let mut known: Vec<&str> = json
            .as_object()
            .into_iter()
            .flat_map(|m| m.keys().map(String::as_str))
            .chain(aliases.iter().map(|(a, _)| *a))
            .collect();
        known.sort_unstable();
        known.dedup();
        super::unknown_param(model, key, &known)
    };
    let parts: Vec<&str> = path.split('.').collect();
    let Some((last, parents)) = parts.split_last() else {
        return Err(unknown(&json));
    };
    if json.get(parts[0]).is_none() {
        return Err(unknown(&json));
    }
    let mut slot = &mut json;
    for part in parents {
        let obj = slot
            .as_object_mut()
            .ok_or_else(|| Error::param(key, "not a nested parameter"))?;
        let child = obj.entry(part.to_string()).or_insert(Value::Null);
        if child.is_null() {
            *child = Value::Object(Default::default());
        }
        slot = child;
    }
    let obj = slot
        .as_object_mut()
        .ok_or_else(|| Error::param(key, "not a nested parameter"))?;
    let v = value_of(value);
    let target = obj.entry(last.to_string()).or_insert(Value::Null);
    if target.get("kind").is_some() && v.is_string() {
        *target = serde_json::json!({ "kind": v });
    } else {
        *target = v;
    }
    serde_json::from_value(json).map_err(|e| Error::param(key, format!("{value:?}: {e}")))
}

/// [`updated`], then `check`, then kept: the `set_param` of a builder
/// whose every field serde sees.
pub(crate) fn set_param_of<T: Serialize + DeserializeOwned>(
    p: &mut T,
    model: &str,
    key: &str,
    value: &str,
    aliases: &[(&str, &str)],
    check: impl Fn(&T) -> Result<()>,
) -> Result<()> {
    let next = updated(p, model, key, value, aliases)?;
    check(&next)?;
    *p = next;
    Ok(())
}
