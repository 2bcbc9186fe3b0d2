//! The canonical smart group: a rule tree every dialect translates to and from, its
//! normal forms, its meaning (`evaluate`) and its description in words. Pure: no I/O.

mod describe;
mod evaluate;
mod fidelity;
mod normal;
mod rule;

pub use describe::{describe, describe_condition};
pub use evaluate::{Millis, Profile, condition_holds, evaluate};
pub use fidelity::{Fidelity, Findings, Reason, SourceGroup, stable_key};
pub use normal::{Atom, Clause, Cnf, Dnf, Literal, TooLarge, to_cnf, to_dnf};
pub use rule::{
    Attribute, Condition, DepartmentScope, EventField, Op, Opaque, ProviderKind, Rule, RulePath,
    SmartGroup, Value,
};
