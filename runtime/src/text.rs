//! Titles to token ids on the device: the catalog's WordPiece tokenizer, when the artifact
//! embeds it and the runtime is built with the `text` feature.

use crate::error::RankError;

/// Token id reserved for padding in every tokenizer pocketrank trains.
pub const PAD_TOKEN: u32 = 0;

/// Turns a title into the student's token ids.
pub trait TitleTokens: Send + Sync {
    fn encode(&self, title: &str) -> Option<Vec<u32>>;
}

#[cfg(feature = "text")]
struct WordPiece(tokenizers::Tokenizer);

#[cfg(feature = "text")]
impl TitleTokens for WordPiece {
    fn encode(&self, title: &str) -> Option<Vec<u32>> {
        self.0.encode(title, false).ok().map(|e| e.get_ids().to_vec())
    }
}

/// The tokenizer from its JSON.
#[cfg(feature = "text")]
pub fn load_tokenizer(json: &str) -> Result<Option<Box<dyn TitleTokens>>, RankError> {
    let t: tokenizers::Tokenizer = json.parse().map_err(|e: tokenizers::Error| RankError::Tokenizer(e.to_string()))?;
    Ok(Some(Box::new(WordPiece(t))))
}

/// Builds without the `text` feature ignore an embedded tokenizer: unknown items then
/// score from the neutral prior, everything else is the same.
#[cfg(not(feature = "text"))]
pub fn load_tokenizer(_json: &str) -> Result<Option<Box<dyn TitleTokens>>, RankError> {
    Ok(None)
}
