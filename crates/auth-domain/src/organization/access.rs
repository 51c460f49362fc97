//! Roles and permissions in an organization, as data: the statements an access controller
//! knows, the roles that grant parts of them, and Better-Auth's rule for a check (a member
//! whose roles are `a,b` may do something when any one of its roles grants every action of
//! every resource asked for).

use std::collections::BTreeMap;

use crate::Permissions;

/// Better-Auth's default role that created the organization, and whose holders alone may hand
/// it out.
pub const DEFAULT_CREATOR_ROLE: &str = "owner";

/// Longest role name accepted (dynamic roles are named by callers).
pub const MAX_ROLE_NAME: usize = 64;

/// A member's roles: the `role` column split on `,`, each trimmed, empty entries dropped (as
/// Better-Auth's `parseRoleList` reads it), without repeats.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleList(Vec<String>);

impl RoleList {
    /// Reads a stored or submitted role string (`"admin, owner"`).
    #[must_use]
    pub fn parse(value: &str) -> Self {
        Self::from_names(value.split(','))
    }

    /// Reads a submitted list of role strings (each may itself hold commas).
    #[must_use]
    pub fn from_list<S: AsRef<str>>(values: &[S]) -> Self {
        Self::from_names(values.iter().flat_map(|value| value.as_ref().split(',')))
    }

    fn from_names<'a>(names: impl Iterator<Item = &'a str>) -> Self {
        let mut roles: Vec<String> = Vec::new();
        for name in names.map(str::trim).filter(|name| !name.is_empty()) {
            if !roles.iter().any(|role| role == name) {
                roles.push(name.to_owned());
            }
        }
        Self(roles)
    }

    /// The roles, in the order given.
    #[must_use]
    pub fn names(&self) -> &[String] {
        &self.0
    }

    /// Whether no role is listed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `role` is among them.
    #[must_use]
    pub fn contains(&self, role: &str) -> bool {
        self.0.iter().any(|name| name == role)
    }

    /// The stored form: names joined by `,`.
    #[must_use]
    pub fn joined(&self) -> String {
        self.0.join(",")
    }
}

/// Whether `name` may name a role: 1 to [`MAX_ROLE_NAME`] bytes of letters, digits, `-`, `_`,
/// `.` or `:` (no comma, which separates roles, and no space or control character).
#[must_use]
pub fn is_valid_role_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_ROLE_NAME
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

/// The statements an organization's access controller knows and the roles it grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessControl {
    statements: Permissions,
    roles: BTreeMap<String, Permissions>,
    creator_role: String,
}

impl Default for AccessControl {
    fn default() -> Self {
        Self::better_auth_default()
    }
}

impl AccessControl {
    /// Better-Auth's default statements and its `owner`, `admin` and `member` roles.
    #[must_use]
    pub fn better_auth_default() -> Self {
        let crud: &[&str] = &["create", "update", "delete"];
        let statements = Permissions::of(&[
            ("organization", &["update", "delete"]),
            ("member", crud),
            ("invitation", &["create", "cancel"]),
            ("team", crud),
            ("ac", &["create", "read", "update", "delete"]),
        ]);
        let mut admin = statements.clone();
        admin.0.insert("organization".into(), vec!["update".into()]);
        let member = Permissions::of(&[
            ("organization", &[]),
            ("member", &[]),
            ("invitation", &[]),
            ("team", &[]),
            ("ac", &["read"]),
        ]);
        let roles = BTreeMap::from([
            ("owner".to_owned(), statements.clone()),
            ("admin".to_owned(), admin),
            ("member".to_owned(), member),
        ]);
        Self {
            statements,
            roles,
            creator_role: DEFAULT_CREATOR_ROLE.to_owned(),
        }
    }

    /// The same controller with `role` granting `permissions` (a custom role by configuration;
    /// it replaces a default role of the same name).
    ///
    /// # Errors
    /// The role name is not valid ([`is_valid_role_name`]).
    pub fn with_role(mut self, role: &str, permissions: Permissions) -> Result<Self, String> {
        if !is_valid_role_name(role) {
            return Err(format!("not a valid role name: {role:?}"));
        }
        for (resource, actions) in &permissions.0 {
            let known = self.statements.0.entry(resource.clone()).or_default();
            for action in actions {
                if !known.contains(action) {
                    known.push(action.clone());
                }
            }
        }
        self.roles.insert(role.to_owned(), permissions);
        Ok(self)
    }

    /// The same controller with another creator role (it must be one of its roles).
    ///
    /// # Errors
    /// No role of that name.
    pub fn with_creator_role(mut self, role: &str) -> Result<Self, String> {
        if !self.roles.contains_key(role) {
            return Err(format!("the creator role {role:?} is not a role"));
        }
        role.clone_into(&mut self.creator_role);
        Ok(self)
    }

    /// The role given to whoever creates an organization, and that only its holders may give.
    #[must_use]
    pub fn creator_role(&self) -> &str {
        &self.creator_role
    }

    /// What the controller knows: every resource and action any role may grant.
    #[must_use]
    pub fn statements(&self) -> &Permissions {
        &self.statements
    }

    /// Whether a role of that name is configured (stored roles are not consulted).
    #[must_use]
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.contains_key(role)
    }

    /// What a configured role grants.
    #[must_use]
    pub fn role(&self, role: &str) -> Option<&Permissions> {
        self.roles.get(role)
    }

    /// This controller with an organization's stored roles merged over it: a stored role adds
    /// its actions to a configured role of the same name, or is a role of its own.
    #[must_use]
    pub fn merged<'a>(&self, stored: impl IntoIterator<Item = (&'a str, &'a Permissions)>) -> Self {
        let mut merged = self.clone();
        for (name, permissions) in stored {
            let role = merged.roles.entry(name.to_owned()).or_default();
            for (resource, actions) in &permissions.0 {
                let granted = role.0.entry(resource.clone()).or_default();
                for action in actions {
                    if !granted.contains(action) {
                        granted.push(action.clone());
                    }
                }
            }
        }
        merged
    }

    /// The roles of `roles` that this controller does not know.
    #[must_use]
    pub fn unknown<'a>(&self, roles: &'a RoleList) -> Vec<&'a str> {
        roles
            .names()
            .iter()
            .map(String::as_str)
            .filter(|role| !self.roles.contains_key(*role))
            .collect()
    }

    /// Whether a member with `roles` may do everything `request` asks: some one of its roles
    /// grants every listed action of every listed resource. An empty request, or a resource
    /// with no action listed, is refused (as Better-Auth's access control does).
    #[must_use]
    pub fn authorize(&self, roles: &RoleList, request: &Permissions) -> bool {
        if request.is_empty() || request.0.values().any(Vec::is_empty) {
            return false;
        }
        roles.names().iter().any(|role| {
            self.roles
                .get(role)
                .is_some_and(|granted| granted.satisfy(request))
        })
    }

    /// [`AccessControl::authorize`], where holding the creator role grants everything (the
    /// checks Better-Auth makes with `allowCreatorAllPermissions`).
    #[must_use]
    pub fn authorize_creator_all(&self, roles: &RoleList, request: &Permissions) -> bool {
        self.is_creator(roles) || self.authorize(roles, request)
    }

    /// Whether `roles` holds the creator role.
    #[must_use]
    pub fn is_creator(&self, roles: &RoleList) -> bool {
        roles.contains(&self.creator_role)
    }

    /// Whether `permissions` lists only what the controller knows and `grantor` may itself do
    /// (a dynamic role never grants more than its maker holds).
    #[must_use]
    pub fn may_grant(&self, grantor: &RoleList, permissions: &Permissions) -> bool {
        permissions.0.iter().all(|(resource, actions)| {
            actions.iter().all(|action| {
                let one = Permissions(BTreeMap::from([(resource.clone(), vec![action.clone()])]));
                self.statements.satisfy(&one) && self.authorize(grantor, &one)
            })
        })
    }
}
