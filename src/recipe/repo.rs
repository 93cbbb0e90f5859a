//! The loaded recipe set, indexed by package name with versions best-first.

use super::Recipe;
use crate::dep::Cpn;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Default)]
pub struct Repo {
    recipes: Vec<Arc<Recipe>>,
    /// Indices into `recipes`, highest version first.
    by_cpn: HashMap<Cpn, Vec<usize>>,
}

/// Identifies a recipe inside a `Repo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecipeId(pub usize);

impl Repo {
    /// Indexes recipes; for the same package version, the one from the later tree wins.
    pub fn new(recipes: Vec<Recipe>) -> Repo {
        let recipes: Vec<Arc<Recipe>> = recipes.into_iter().map(Arc::new).collect();
        let mut by_cpn: HashMap<Cpn, Vec<usize>> = HashMap::new();
        for (i, r) in recipes.iter().enumerate() {
            by_cpn.entry(r.cpn.clone()).or_default().push(i);
        }
        for ids in by_cpn.values_mut() {
            // Highest version first; among equal versions the latest tree first, then keep one.
            ids.sort_by(|&a, &b| {
                let (ra, rb) = (&recipes[a], &recipes[b]);
                rb.version.cmp(&ra.version).then(rb.origin.tree.cmp(&ra.origin.tree))
            });
            ids.dedup_by(|b, a| recipes[*a].version == recipes[*b].version);
        }
        Repo { recipes, by_cpn }
    }

    pub fn get(&self, id: RecipeId) -> &Arc<Recipe> {
        &self.recipes[id.0]
    }

    /// Every version of a package, best first.
    pub fn versions(&self, cpn: &Cpn) -> impl Iterator<Item = (RecipeId, &Arc<Recipe>)> + '_ {
        self.by_cpn.get(cpn).into_iter().flatten().map(|&i| (RecipeId(i), &self.recipes[i]))
    }

    pub fn contains(&self, cpn: &Cpn) -> bool {
        self.by_cpn.contains_key(cpn)
    }

    /// Every visible recipe (overridden ones excluded), in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (RecipeId, &Arc<Recipe>)> + '_ {
        self.by_cpn.values().flatten().map(|&i| (RecipeId(i), &self.recipes[i]))
    }

    /// Number of visible recipes.
    pub fn len(&self) -> usize {
        self.by_cpn.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.by_cpn.is_empty()
    }

    /// Package names, sorted.
    pub fn packages(&self) -> Vec<&Cpn> {
        let mut v: Vec<&Cpn> = self.by_cpn.keys().collect();
        v.sort();
        v
    }
}
