//! Conjunctive and disjunctive normal forms, with a size guard.
//!
//! Distributing OR over AND can grow a rule exponentially (a DNF of 12 two-literal terms
//! has 4 096 CNF clauses), so every conversion takes a clause limit and refuses, with an
//! error that says so, instead of expanding without bound.

use super::rule::{Condition, Opaque, Rule};
use std::collections::{HashMap, HashSet};
use thiserror::Error;

/// One literal: an atom, possibly negated. Conditions are kept with a positive operator
/// (`NotEquals x` is stored as the negation of `Equals x`), so `x` and `¬x` are
/// recognised whichever way the source spelled them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Literal {
    pub negated: bool,
    pub atom: Atom,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Atom {
    Cond(Condition),
    Opaque(Opaque),
}

impl Literal {
    fn new(atom: Atom, negated: bool) -> Self {
        match atom {
            Atom::Cond(mut c) if c.op.is_negative() => {
                if let Some(positive) = c.op.negated() {
                    c.op = positive;
                }
                Literal {
                    negated: !negated,
                    atom: Atom::Cond(c),
                }
            }
            atom => Literal { negated, atom },
        }
    }

    /// The literal as a rule: a negated condition whose operator has a `Not…` twin
    /// becomes that condition; other negations become `Not(…)`.
    pub fn to_rule(&self) -> Rule {
        match (&self.atom, self.negated) {
            (Atom::Cond(c), false) => Rule::Cond(c.clone()),
            (Atom::Cond(c), true) => match c.op.negated() {
                Some(op) => Rule::Cond(Condition { op, ..c.clone() }),
                None => Rule::Not(Box::new(Rule::Cond(c.clone()))),
            },
            (Atom::Opaque(o), false) => Rule::Opaque(o.clone()),
            (Atom::Opaque(o), true) => Rule::Not(Box::new(Rule::Opaque(o.clone()))),
        }
    }

    /// The condition this literal states, with the `Not…` operator folded in when the
    /// literal is negated; `None` for an opaque atom or a negation with no operator twin.
    pub fn as_condition(&self) -> Option<Condition> {
        match self.to_rule() {
            Rule::Cond(c) => Some(c),
            _ => None,
        }
    }
}

/// A disjunction (in CNF) or conjunction (in DNF) of literals.
pub type Clause = Vec<Literal>;

/// AND of clauses, each an OR of literals. `[]` is true; a clause `[]` is false.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cnf(pub Vec<Clause>);

/// OR of terms, each an AND of literals. `[]` is false; a term `[]` is true.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dnf(pub Vec<Clause>);

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("the rule's {form} would need more than {limit} clauses; refused rather than expanded")]
pub struct TooLarge {
    pub form: &'static str,
    pub limit: usize,
}

impl Cnf {
    /// `All(Any(literals)…)`, in order.
    pub fn to_rule(&self) -> Rule {
        Rule::All(
            self.0
                .iter()
                .map(|c| Rule::Any(c.iter().map(Literal::to_rule).collect()))
                .collect(),
        )
    }
}

impl Dnf {
    /// `Any(All(literals)…)`, in order.
    pub fn to_rule(&self) -> Rule {
        Rule::Any(
            self.0
                .iter()
                .map(|t| Rule::All(t.iter().map(Literal::to_rule).collect()))
                .collect(),
        )
    }
}

/// The conjunctive normal form of `rule`, or [`TooLarge`] past `max_clauses`.
/// Duplicate literals and clauses and always-true clauses (`x ∨ ¬x`) are removed; a rule
/// already in CNF keeps its clause and literal order.
pub fn to_cnf(rule: &Rule, max_clauses: usize) -> Result<Cnf, TooLarge> {
    let guard = Guard {
        form: "conjunctive normal form",
        limit: max_clauses,
    };
    Normaliser::new(Shape::Cnf, guard).run(rule).map(Cnf)
}

/// The disjunctive normal form of `rule`, or [`TooLarge`] past `max_terms`.
pub fn to_dnf(rule: &Rule, max_terms: usize) -> Result<Dnf, TooLarge> {
    let guard = Guard {
        form: "disjunctive normal form",
        limit: max_terms,
    };
    Normaliser::new(Shape::Dnf, guard).run(rule).map(Dnf)
}

#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Cnf,
    Dnf,
}

struct Guard {
    form: &'static str,
    limit: usize,
}

impl Guard {
    fn check(&self, clauses: usize) -> Result<(), TooLarge> {
        if clauses > self.limit {
            Err(TooLarge {
                form: self.form,
                limit: self.limit,
            })
        } else {
            Ok(())
        }
    }
}

/// An interned literal: atom index × 2, plus 1 when negated. Distribution copies and
/// compares literals thousands of times; integers make that cheap, and `lit ^ 1` is its
/// complement.
type Lit = u32;
type LitClause = Vec<Lit>;

struct Normaliser {
    shape: Shape,
    guard: Guard,
    atoms: Vec<Atom>,
    index: HashMap<Atom, u32>,
}

impl Normaliser {
    fn new(shape: Shape, guard: Guard) -> Self {
        Normaliser {
            shape,
            guard,
            atoms: Vec::new(),
            index: HashMap::new(),
        }
    }

    fn run(mut self, rule: &Rule) -> Result<Vec<Clause>, TooLarge> {
        let clauses = self.normal(rule, false)?;
        Ok(clauses
            .into_iter()
            .map(|c| {
                c.into_iter()
                    .map(|lit| Literal {
                        negated: lit & 1 == 1,
                        atom: self.atoms[(lit >> 1) as usize].clone(),
                    })
                    .collect()
            })
            .collect())
    }

    fn literal(&mut self, atom: Atom, negated: bool) -> Lit {
        let Literal { negated, atom } = Literal::new(atom, negated);
        let next = self.atoms.len() as u32;
        let id = *self.index.entry(atom).or_insert_with_key(|atom| {
            self.atoms.push(atom.clone());
            next
        });
        (id << 1) | u32::from(negated)
    }

    /// Normal form of `rule` (negated when `negate`). For CNF the outer connective is
    /// AND: an AND concatenates its children's clauses and an OR multiplies them out; DNF
    /// is the dual. Negation swaps the roles (De Morgan).
    fn normal(&mut self, rule: &Rule, negate: bool) -> Result<Vec<LitClause>, TooLarge> {
        let (concatenates, children) = match rule {
            Rule::All(xs) => ((self.shape == Shape::Cnf) != negate, xs),
            Rule::Any(xs) => ((self.shape == Shape::Dnf) != negate, xs),
            Rule::Not(x) => return self.normal(x, !negate),
            Rule::Cond(c) => return Ok(vec![vec![self.literal(Atom::Cond(c.clone()), negate)]]),
            Rule::Opaque(o) => {
                return Ok(vec![vec![self.literal(Atom::Opaque(o.clone()), negate)]]);
            }
        };
        if concatenates {
            let mut out = Distinct::default();
            for child in children {
                for clause in self.normal(child, negate)? {
                    out.push(clause);
                }
                self.guard.check(out.len())?;
            }
            Ok(out.into_vec())
        } else {
            // Start from the identity of the inner connective: one empty clause.
            let mut out: Vec<LitClause> = vec![Vec::new()];
            for child in children {
                let theirs = self.normal(child, negate)?;
                if theirs.is_empty() {
                    // The child is the outer identity (true in CNF), which absorbs the
                    // whole inner connective.
                    return Ok(Vec::new());
                }
                self.guard.check(out.len().saturating_mul(theirs.len()))?;
                let mut product = Distinct::default();
                for mine in &out {
                    for other in &theirs {
                        if let Some(clause) = merge(mine, other) {
                            product.push(clause);
                        }
                    }
                }
                out = product.into_vec();
            }
            Ok(out)
        }
    }
}

/// Clauses in first-seen order without duplicates.
#[derive(Default)]
struct Distinct {
    order: Vec<LitClause>,
    seen: HashSet<LitClause>,
}

impl Distinct {
    fn push(&mut self, clause: LitClause) {
        if self.seen.insert(clause.clone()) {
            self.order.push(clause);
        }
    }
    fn len(&self) -> usize {
        self.order.len()
    }
    fn into_vec(self) -> Vec<LitClause> {
        self.order
    }
}

/// The union of two clauses without duplicates; `None` when it holds `x` and `¬x`,
/// which makes it the identity of the outer connective (dropped).
fn merge(a: &[Lit], b: &[Lit]) -> Option<LitClause> {
    let mut out = a.to_vec();
    for &lit in b {
        if out.contains(&(lit ^ 1)) {
            return None;
        }
        if !out.contains(&lit) {
            out.push(lit);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Attribute, Op, Value};

    fn c(name: &str) -> Rule {
        Rule::cond(
            Attribute::Property(name.into()),
            Op::Equals,
            Value::string("v"),
        )
    }

    #[test]
    fn cnf_of_cnf_keeps_order() {
        let rule = Rule::All(vec![
            Rule::Any(vec![c("a"), c("b")]),
            Rule::Any(vec![c("c")]),
        ]);
        let cnf = to_cnf(&rule, 10).unwrap();
        assert_eq!(cnf.0.len(), 2);
        assert_eq!(cnf.to_rule(), rule);
    }

    #[test]
    fn distributes_or_over_and() {
        // (a ∧ b) ∨ c  =  (a ∨ c) ∧ (b ∨ c)
        let rule = Rule::Any(vec![Rule::All(vec![c("a"), c("b")]), c("c")]);
        let cnf = to_cnf(&rule, 10).unwrap();
        let expect = Rule::All(vec![
            Rule::Any(vec![c("a"), c("c")]),
            Rule::Any(vec![c("b"), c("c")]),
        ]);
        assert_eq!(cnf.to_rule(), expect);
        let dnf = to_dnf(&rule, 10).unwrap();
        assert_eq!(dnf.0.len(), 2);
    }

    #[test]
    fn negation_uses_not_operators_and_drops_tautologies() {
        let not_a = Rule::Not(Box::new(c("a")));
        let cnf = to_cnf(&not_a, 10).unwrap();
        let Rule::All(clauses) = cnf.to_rule() else {
            panic!()
        };
        let Rule::Any(lits) = &clauses[0] else {
            panic!()
        };
        assert!(matches!(&lits[0], Rule::Cond(cond) if cond.op == Op::NotEquals));
        // a ∨ ¬a is always true: no clause left.
        let taut = Rule::Any(vec![c("a"), Rule::Not(Box::new(c("a")))]);
        assert_eq!(to_cnf(&taut, 10).unwrap().0.len(), 0);
    }

    #[test]
    fn constants() {
        assert_eq!(to_cnf(&Rule::All(vec![]), 1).unwrap().0.len(), 0);
        assert_eq!(
            to_cnf(&Rule::Any(vec![]), 1).unwrap().0,
            vec![Vec::<Literal>::new()]
        );
    }

    #[test]
    fn guard_refuses_explosion() {
        let dnf = Rule::Any(
            (0..12)
                .map(|i| Rule::All(vec![c(&format!("x{i}")), c(&format!("y{i}"))]))
                .collect(),
        );
        let err = to_cnf(&dnf, 100).unwrap_err();
        assert_eq!(err.limit, 100);
        assert_eq!(to_cnf(&dnf, 4096).unwrap().0.len(), 4096);
    }
}
