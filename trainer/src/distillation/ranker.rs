//! The student as the on-device runtime runs it: built in memory the way an artifact
//! would be, and scoring evaluation cases from each shopper's events.

use std::collections::HashMap;

use burn::tensor::backend::Backend;
use pocketrank_model::metrics::CaseScorer;
use pocketrank_model::quantize::{QuantizeConfig, quantize_weighted, reconstruction_error};
use pocketrank_model::student::Student;
use pocketrank_model::teacher::ItemText;
use pocketrank_model::text::ItemTokens;
use pocketrank_model::{EvalCase, Interaction};
use pocketrank_runtime::artifact::{Artifact, Encoding, ItemCodes, Manifest, Record, Weights};
use pocketrank_runtime::codes::{CENTROIDS, CODEBOOKS};
use pocketrank_runtime::{Codebooks, Ranker, layout};

use super::StudentSpec;
use crate::cold_start::is_held_out;

/// How an artifact carries the catalog's items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemTable {
    /// One row per item in this encoding (every matrix is stored the same way).
    Dense(Encoding),
    /// One code per item (`item_codes`), decoded with the artifact's codebooks.
    Codes,
    /// No per-item data: the catalog-free core artifact (candidates carry codes).
    Core,
}

impl ItemTable {
    /// The manifest's `item_encoding` for this table.
    pub fn encoding(self) -> Encoding {
        match self {
            Self::Dense(e) => e,
            Self::Codes | Self::Core => Encoding::Codes,
        }
    }
}

/// The student's item vectors as codes: the codebooks and each catalog item's code.
pub struct Quantized {
    pub books: Codebooks,
    /// `[n_items, m]`.
    pub codes: Vec<u8>,
    /// Mean squared error of the item vectors through their codes.
    pub error: f32,
}

/// Learns the codebooks of the student's item vectors (`m` bytes per item), each item
/// weighted by `weights` (`[n_items]`; all alike when `None`).
pub fn quantize_items<B: Backend>(
    model: &Student<B>,
    text: &ItemText<B>,
    m: usize,
    weights: Option<&[f32]>,
) -> anyhow::Result<Quantized> {
    let tensors = model.export_tensors(text);
    let items = tensors.get(layout::ITEMS).ok_or_else(|| anyhow::anyhow!("the student has no item table"))?;
    let d = items.shape.get(1).copied().unwrap_or(0);
    let (books, codes) = quantize_weighted(&items.values, weights, d, QuantizeConfig { m, ..Default::default() })?;
    let error = reconstruction_error(&items.values, &books, &codes);
    Ok(Quantized { books, codes, error })
}

/// The runtime for a student, and the artifact bytes it was decoded from. With
/// `quantized`, the artifact carries its codebooks (so it accepts candidates' codes);
/// [`ItemTable::Codes`] and [`ItemTable::Core`] need them.
pub fn ranker_of<B: Backend>(
    model: &Student<B>,
    text: &ItemText<B>,
    manifest: Manifest,
    table: ItemTable,
    quantized: Option<&Quantized>,
    tokenizer: Option<String>,
) -> anyhow::Result<(Ranker, Vec<u8>)> {
    ranker_from(model.export_tensors(text), manifest, table, quantized, tokenizer)
}

/// The student's runtime (f32 table) in which the `held_out` items' rows are what the
/// device computes for a product it has never seen, from its title tokens alone: how
/// items added after export rank.
pub fn cold_ranker<B: Backend>(
    model: &Student<B>,
    text: &ItemText<B>,
    manifest: Manifest,
    tokens: &ItemTokens,
    tokenizer: Option<String>,
    held_out: &[bool],
) -> anyhow::Result<Ranker> {
    let mut tensors = model.export_tensors(text);
    let (probe, _) = ranker_from(tensors.clone(), manifest.clone(), ItemTable::Dense(Encoding::F32), None, tokenizer)?;
    let items = tensors.get_mut(layout::ITEMS).ok_or_else(|| anyhow::anyhow!("the student has no item table"))?;
    let d = items.shape.get(1).copied().unwrap_or(0);
    for (i, row) in items.values.chunks_mut(d.max(1)).enumerate() {
        if is_held_out(Some(held_out), i as u32) {
            let (v, _) = probe.text_vector(tokens.row(i as u32).unwrap_or(&[]));
            anyhow::ensure!(v.len() == row.len(), "text vector of {} values for rows of {}", v.len(), row.len());
            row.copy_from_slice(&v);
        }
    }
    Ok(ranker_from(tensors, manifest, ItemTable::Dense(Encoding::F32), None, None)?.0)
}

/// [`ranker_of`] over already exported tensors.
fn ranker_from(
    mut tensors: std::collections::BTreeMap<String, Weights>,
    mut manifest: Manifest,
    table: ItemTable,
    quantized: Option<&Quantized>,
    tokenizer: Option<String>,
) -> anyhow::Result<(Ranker, Vec<u8>)> {
    if tokenizer.is_none() {
        // Without a tokenizer the runtime has no text path: leave its table out.
        tensors.remove(layout::TOKENS);
    }
    // Every matrix is stored like a dense item table; with codes, in int8.
    let matrices = match table {
        ItemTable::Dense(e) => e,
        ItemTable::Codes | ItemTable::Core => Encoding::Int8,
    };
    let mut encodings: HashMap<String, Encoding> =
        tensors.iter().filter(|(_, w)| w.shape.len() == 2).map(|(name, _)| (name.clone(), matrices)).collect();
    if let Some(q) = quantized {
        let shape = vec![q.books.m, CENTROIDS, q.books.sub];
        tensors.insert(CODEBOOKS.into(), Weights::new(shape, q.books.centroids.clone()));
        encodings.insert(CODEBOOKS.into(), Encoding::F16);
    }
    manifest.item_encoding = table.encoding();
    let mut item_codes = None;
    match (table, quantized) {
        (ItemTable::Dense(_), _) => {}
        (ItemTable::Codes, Some(q)) => {
            tensors.remove(layout::ITEMS);
            item_codes = Some(ItemCodes { m: q.books.m, codes: q.codes.clone() });
        }
        (ItemTable::Core, Some(_)) => {
            tensors.remove(layout::ITEMS);
            manifest.item_ids.clear();
            manifest.dims.n_items = 0;
        }
        (_, None) => anyhow::bail!("an artifact with item codes needs the codebooks"),
    }
    let mut artifact = Artifact::new(manifest, tensors, tokenizer);
    artifact.item_codes = item_codes;
    let bytes = artifact.encode(&encodings)?;
    Ok((Ranker::from_bytes(&bytes)?, bytes))
}

/// A manifest without the record fields (filled at export): the student's dims and
/// architecture, the item ids, and the student's spec as the training record.
pub fn bare_manifest(item_ids: Vec<String>, spec: &StudentSpec, title_tokens: usize) -> Manifest {
    let dims = spec.student.dims(title_tokens);
    Manifest {
        training: Record::new(&serde_json::to_value(spec).unwrap_or_default()),
        ..Manifest::new(dims, item_ids, "", Encoding::F32)
    }
}

/// Scores evaluation cases with a [`Ranker`]: each case's profile is folded from the
/// shopper's events (kinds and times included), then the whole catalog is scored.
pub struct RankerCases<'a> {
    pub ranker: &'a Ranker,
    pub events: &'a [Vec<Interaction>],
}

impl RankerCases<'_> {
    /// The profile after a case's history.
    pub fn profile(&self, case: &EvalCase) -> pocketrank_runtime::Profile {
        let mut p = self.ranker.new_profile();
        let events = self.events.get(case.user as usize).map_or(&[][..], Vec::as_slice);
        for e in events.iter().take(case.history.len()) {
            // Catalog indices and finite times: this cannot fail.
            let _ = self.ranker.observe_item(&mut p, e.item, e.kind, e.ts as f64);
        }
        p
    }
}

impl CaseScorer for RankerCases<'_> {
    fn catalog_size(&self) -> usize {
        self.ranker.manifest().dims.n_items
    }

    fn score_cases(&self, cases: &[EvalCase], out: &mut [f32]) {
        let n = self.catalog_size();
        let half = cases.len().div_ceil(2);
        let (a, b) = out[..cases.len() * n].split_at_mut(half * n);
        let score = |cases: &[EvalCase], out: &mut [f32]| {
            for (case, row) in cases.iter().zip(out.chunks_mut(n)) {
                if self.ranker.score_catalog(&self.profile(case), row).is_err() {
                    row.fill(f32::NAN);
                }
            }
        };
        std::thread::scope(|s| {
            s.spawn(|| score(&cases[..half], a));
            score(&cases[half..], b);
        });
    }

    fn cases_per_batch(&self) -> usize {
        64
    }
}

/// The student's vector of catalog item `i` in `ranker`'s table (`[d]`; empty past the end).
pub fn item_row(ranker: &Ranker, i: usize) -> &[f32] {
    let d = ranker.profile_len();
    ranker.item_table().get(i * d..(i + 1) * d).unwrap_or(&[])
}

/// The best `k` items by `scores` outside `masked` (set to −∞ in `scores`), best first, as
/// the runtime's ranked entries (source: the catalog).
pub fn top_scored(
    scores: &mut [f32],
    masked: impl IntoIterator<Item = u32>,
    k: usize,
) -> Vec<pocketrank_runtime::Scored> {
    for h in masked {
        if let Some(s) = scores.get_mut(h as usize) {
            *s = f32::NEG_INFINITY;
        }
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    let by_score = |a: &usize, b: &usize| scores[*b].total_cmp(&scores[*a]).then(a.cmp(b));
    let k = k.min(order.len());
    if k > 0 && k < order.len() {
        order.select_nth_unstable_by(k - 1, by_score);
    }
    order.truncate(k);
    order.sort_unstable_by(by_score);
    order
        .into_iter()
        .map(|index| pocketrank_runtime::Scored {
            index,
            score: scores[index],
            source: pocketrank_runtime::ItemSource::Catalog,
            code_error: None,
        })
        .collect()
}
