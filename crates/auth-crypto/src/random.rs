//! The OS-seeded CSPRNG.

use auth_ports::Random;

/// Randomness from the operating system's CSPRNG (through rand's thread-local generator, which
/// is reseeded from the OS).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl Random for OsRandom {
    fn string(&self, alphabet: &'static [u8], length: usize) -> String {
        // Rejection sampling: only bytes below the largest multiple of the alphabet size are
        // used, so every character is equally likely.
        let size = alphabet.len().clamp(1, 256);
        let limit = 256 - (256 % size);
        let mut out = String::with_capacity(length);
        let mut buffer = [0u8; 64];
        while out.len() < length {
            rand::fill(&mut buffer[..]);
            for &byte in &buffer {
                if usize::from(byte) < limit && out.len() < length {
                    out.push(char::from(alphabet[usize::from(byte) % size]));
                }
            }
        }
        out
    }

    fn bytes(&self, length: usize) -> Vec<u8> {
        let mut out = vec![0u8; length];
        rand::fill(&mut out[..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use auth_ports::ALPHANUMERIC;

    use super::*;

    #[test]
    fn strings_have_the_requested_length_and_alphabet_and_differ() {
        let a = OsRandom.string(ALPHANUMERIC, 32);
        let b = OsRandom.string(ALPHANUMERIC, 32);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| ALPHANUMERIC.contains(&c)));
        assert_ne!(a, b);
    }

    #[test]
    fn every_character_of_the_alphabet_is_reachable() {
        let sample = OsRandom.string(b"abc", 3000);
        for c in ['a', 'b', 'c'] {
            let count = sample.chars().filter(|x| *x == c).count();
            assert!((700..1300).contains(&count), "{c}: {count}");
        }
    }
}
