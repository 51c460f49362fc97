//! Plugin fields of `user` and `session` (declared `FieldSpec`s): added to selects as extra
//! columns, read back from the rows, written by `UPDATE`. Nothing here names a field: what the
//! plugins declare is all there is.

use auth_domain::{FieldKind, FieldSpec, FieldValue, Fields, Model};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SimpleExpr, UpdateStatement, Value};
use sea_orm::{DbErr, QuerySelect};

use crate::lane::LaneRow;

/// The fields the enabled plugins declare, by table.
#[derive(Debug, Clone, Default)]
pub(crate) struct DeclaredFields {
    user: Vec<FieldSpec>,
    session: Vec<FieldSpec>,
}

/// The table of a model.
pub(crate) fn table(model: Model) -> &'static str {
    match model {
        Model::User => "user",
        Model::Session => "session",
    }
}

impl DeclaredFields {
    pub(crate) fn new(specs: &[FieldSpec]) -> Self {
        let of = |model| {
            specs
                .iter()
                .filter(|spec| spec.model == model)
                .copied()
                .collect()
        };
        Self {
            user: of(Model::User),
            session: of(Model::Session),
        }
    }

    pub(crate) fn of(&self, model: Model) -> &[FieldSpec] {
        match model {
            Model::User => &self.user,
            Model::Session => &self.session,
        }
    }

    /// Every declared field, with its table.
    pub(crate) fn all(&self) -> impl Iterator<Item = &FieldSpec> {
        self.user.iter().chain(&self.session)
    }

    /// Adds `model`'s fields to a select, as `<tag><i>`.
    pub(crate) fn select<S: QuerySelect>(&self, mut select: S, model: Model, tag: &str) -> S {
        for (index, spec) in self.of(model).iter().enumerate() {
            let column = Expr::col((Alias::new(table(model)), Alias::new(spec.name)));
            select = select.column_as(column, format!("{tag}{index}"));
        }
        select
    }

    /// Reads `model`'s fields from a row selected by [`Self::select`] with the same tag.
    pub(crate) fn read(&self, row: &LaneRow<'_>, model: Model, tag: &str) -> Result<Fields, DbErr> {
        let mut fields = Fields::default();
        for (index, spec) in self.of(model).iter().enumerate() {
            let alias = format!("{tag}{index}");
            let value = match spec.kind {
                FieldKind::Bool | FieldKind::Flag => row
                    .boolean(&alias)?
                    .map_or(FieldValue::Null, FieldValue::Bool),
                FieldKind::Text => row.text(&alias)?.map_or(FieldValue::Null, FieldValue::Text),
            };
            fields.set(spec.name, value);
        }
        Ok(fields)
    }

    /// `UPDATE <table> SET <field> = ... WHERE id = <id>` for the declared fields among
    /// `fields` (a field nobody declared is not written); `None` when there is none.
    pub(crate) fn update(
        &self,
        model: Model,
        id: &str,
        fields: &Fields,
    ) -> Option<UpdateStatement> {
        let mut update = Query::update();
        update.table(Alias::new(table(model)));
        let mut any = false;
        for (name, value) in fields.iter() {
            let Some(spec) = self.of(model).iter().find(|spec| spec.name == name) else {
                continue;
            };
            update.value(Alias::new(spec.name), bound(spec.kind, value));
            any = true;
        }
        update.and_where(Expr::col(Alias::new("id")).eq(id));
        any.then_some(update)
    }
}

/// A field's value as a statement parameter, typed by its column even when null.
fn bound(kind: FieldKind, value: &FieldValue) -> SimpleExpr {
    let value = match (kind, value) {
        (FieldKind::Bool | FieldKind::Flag, FieldValue::Bool(flag)) => Value::Bool(Some(*flag)),
        (FieldKind::Text, FieldValue::Text(text)) => Value::String(Some(text.clone())),
        (FieldKind::Bool | FieldKind::Flag, _) => Value::Bool(None),
        (FieldKind::Text, _) => Value::String(None),
    };
    SimpleExpr::Value(value)
}
