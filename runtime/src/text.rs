//! Titles to token ids on the device: the catalog's WordPiece tokenizer, when the artifact
//! embeds it and the runtime is built with the `text` feature.

use crate::error::RankError;

/// Token id reserved for padding in every tokenizer pocketrank trains.
pub const PAD_TOKEN: u32 = 0;

/// Longest title read, in bytes: the student reads a title's first few tokens only, so a
/// longer one (a shop's 100 KB description pasted as a title) is cut before tokenizing.
pub const MAX_TITLE_BYTES: usize = 1024;

/// `text` cut to at most `max` bytes, on a character boundary.
pub fn clip(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_cuts_on_a_character_boundary() {
        assert_eq!(clip("abc", 10), "abc");
        assert_eq!(clip("abcdef", 3), "abc");
        // "é" is two bytes: a cut inside it backs off to the boundary before.
        assert_eq!(clip("aéb", 2), "a");
        assert_eq!(clip("ééé", 5), "éé");
        assert_eq!(clip("", 0), "");
    }
}
