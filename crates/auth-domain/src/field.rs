//! Fields that plugins add to the user and the session (Better-Auth's plugin `schema`
//! additions, such as `session.activeOrganizationId`): declared once by the plugin, as a
//! [`FieldSpec`], and carried by every layer (storage, cache, JSON, token claims) without a copy
//! of their own.

/// The table a field belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Model {
    /// `user`.
    User,
    /// `session`.
    Session,
}

/// The type of a field (its column and its JSON value). Every plugin field is nullable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A boolean.
    Bool,
    /// A boolean that starts `false` (Better-Auth's `defaultValue: false`).
    Flag,
    /// A string.
    Text,
}

/// A field a plugin adds to a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// The table.
    pub model: Model,
    /// The column's name, which is also the JSON member's (camelCase, as Better-Auth names it).
    pub name: &'static str,
    /// Its type.
    pub kind: FieldKind,
}

/// A field's value. A missing column and SQL `NULL` read as `Null` (Better-Auth answers `null`
/// for a field of an enabled plugin that was never set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    /// No value.
    Null,
    /// A boolean.
    Bool(bool),
    /// A string.
    Text(String),
}

/// The plugin-owned fields of one row, in declaration order: every declared field is present,
/// `Null` when unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields(Vec<(String, FieldValue)>);

impl Fields {
    /// Every field of `specs` for `model`, `Null`.
    #[must_use]
    pub fn declared(specs: &[FieldSpec], model: Model) -> Self {
        Self(
            specs
                .iter()
                .filter(|spec| spec.model == model)
                .map(|spec| {
                    let start = match spec.kind {
                        FieldKind::Flag => FieldValue::Bool(false),
                        FieldKind::Bool | FieldKind::Text => FieldValue::Null,
                    };
                    (spec.name.to_owned(), start)
                })
                .collect(),
        )
    }

    /// A field's value, if the field is there.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&FieldValue> {
        self.0
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, value)| value)
    }

    /// Sets a field (added at the end when it was not there).
    pub fn set(&mut self, name: &str, value: FieldValue) {
        match self.0.iter_mut().find(|(known, _)| known == name) {
            Some((_, slot)) => *slot = value,
            None => self.0.push((name.to_owned(), value)),
        }
    }

    /// The fields, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &FieldValue)> {
        self.0.iter().map(|(name, value)| (name.as_str(), value))
    }

    /// Whether there is none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTE: FieldSpec = FieldSpec {
        model: Model::Session,
        name: "activeNote",
        kind: FieldKind::Text,
    };
    const FLAG: FieldSpec = FieldSpec {
        model: Model::User,
        name: "flagged",
        kind: FieldKind::Bool,
    };

    #[test]
    fn declared_fields_start_null_and_keep_their_order() {
        let mut fields = Fields::declared(&[NOTE, FLAG], Model::Session);
        assert_eq!(fields.get("activeNote"), Some(&FieldValue::Null));
        assert_eq!(
            fields.get("flagged"),
            None,
            "a user field is not a session's"
        );
        fields.set("activeNote", FieldValue::Text("x".to_owned()));
        fields.set("later", FieldValue::Bool(true));
        let names: Vec<&str> = fields.iter().map(|(name, _)| name).collect();
        assert_eq!(names, ["activeNote", "later"]);
        assert!(!fields.is_empty());
        assert!(Fields::default().is_empty());
    }
}
