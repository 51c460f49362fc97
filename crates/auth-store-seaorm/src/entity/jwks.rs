//! `jwks`.

use sea_orm::entity::prelude::*;

/// A `jwks` row. `Debug` leaves the private key out (it is plain JSON when stored unsealed).
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jwks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(column_name = "publicKey")]
    pub public_key: String,
    #[sea_orm(column_name = "privateKey")]
    pub private_key: String,
    #[sea_orm(column_name = "createdAt")]
    pub created_at: TimeDateTimeWithTimeZone,
    #[sea_orm(column_name = "expiresAt")]
    pub expires_at: Option<TimeDateTimeWithTimeZone>,
    pub alg: Option<String>,
    pub crv: Option<String>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("jwks::Model")
            .field("id", &self.id)
            .field("public_key", &self.public_key)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("alg", &self.alg)
            .field("crv", &self.crv)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_leaves_the_private_key_out() {
        let row = Model {
            id: "k1".to_owned(),
            public_key: r#"{"kty":"OKP"}"#.to_owned(),
            private_key: r#"{"d":"c2VjcmV0LXNlZWQ"}"#.to_owned(),
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            expires_at: None,
            alg: None,
            crv: None,
        };
        let printed = format!("{row:?}");
        assert!(!printed.contains("c2VjcmV0LXNlZWQ"), "{printed}");
        assert!(printed.contains("k1"), "{printed}");
    }
}
