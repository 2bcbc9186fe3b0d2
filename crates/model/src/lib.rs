//! The canonical smart group: a rule tree every dialect translates to and from, its
//! normal forms, its meaning (`evaluate`), its description in words, fidelity, member
//! identity (`members`) and the maps a dialect translates names and values with
//! (`mapping`). Pure and synchronous: no I/O, nothing async, no provider named.

mod describe;
pub mod directory;
mod evaluate;
mod fidelity;
mod kind;
pub mod mapping;
pub mod members;
mod normal;
mod rule;

pub use describe::{describe, describe_condition};
pub use directory::Directory;
pub use evaluate::{Millis, Profile, condition_holds, evaluate};
pub use fidelity::{Fidelity, Findings, Reason, SourceGroup, stable_key};
pub use kind::ProviderKind;
pub use normal::{Atom, Clause, Cnf, Dnf, Literal, TooLarge, to_cnf, to_dnf};
pub use rule::{
    Attribute, Condition, DepartmentScope, EventField, Op, Opaque, Rule, RulePath, SmartGroup,
    Value,
};
