//! Text with the embedded DejaVu Sans: measured and laid out with each
//! glyph's advance and kerning, and drawn into an RGB pixel buffer from
//! coverage masks kept once for the process. plotters' own text path re-outlines every
//! glyph on every draw, blends pixel by pixel through its generic backend and
//! drops each glyph's side bearing (uneven letter spacing): it was a fifth
//! of a chart's time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use ab_glyph::{Font as _, FontRef, GlyphId, PxScale, ScaleFont, point};

/// DejaVu Sans (Latin and Cyrillic), embedded so text never depends on the
/// system's fonts; licence in assets/fonts/LICENSE.
const REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

fn face(bold: bool) -> &'static FontRef<'static> {
    static FACES: OnceLock<[FontRef<'static>; 2]> = OnceLock::new();
    let faces = FACES.get_or_init(|| {
        // Both are checked by a unit test; these bytes are part of the binary.
        let read = |bytes| FontRef::try_from_slice(bytes).expect("the embedded font reads");
        [read(REGULAR), read(BOLD)]
    });
    &faces[usize::from(bold)]
}

/// A glyph's coverage at one size and quarter-pixel offset.
struct Mask {
    left: i32,
    top: i32,
    width: usize,
    coverage: Vec<u8>,
}

/// (bold, size in 1/16 px, glyph, quarter-pixel x offset) → mask.
type Key = (bool, u32, u16, u8);

/// Masks kept for the process (one per thread multiplied with the blocking
/// pool's threads); the cache starts over past `MAX_MASKS` (a few hundred
/// distinct glyphs per size in practice).
static MASKS: OnceLock<Mutex<HashMap<Key, Option<Arc<Mask>>>>> = OnceLock::new();
const MAX_MASKS: usize = 8192;

/// The mask of a glyph at a size and quarter-pixel offset, made once.
fn mask(key: Key, id: GlyphId, size: f64, bold: bool, quarter: u8) -> Option<Arc<Mask>> {
    let masks = MASKS.get_or_init(Default::default);
    if let Some(found) = masks.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return found.clone();
    }
    // Outlined without the lock; two threads may both make one, which is harmless.
    let glyph = id.with_scale_and_position(
        PxScale::from(size as f32),
        point(f32::from(quarter) / 4.0, 0.0),
    );
    let made = face(bold).outline_glyph(glyph).map(|outlined| {
        let bounds = outlined.px_bounds();
        let w = bounds.width() as usize;
        let mut coverage = vec![0u8; w * bounds.height() as usize];
        outlined.draw(|px, py, c| {
            coverage[py as usize * w + px as usize] = (c.clamp(0.0, 1.0) * 255.0) as u8;
        });
        Arc::new(Mask {
            left: bounds.min.x as i32,
            top: bounds.min.y as i32,
            width: w,
            coverage,
        })
    });
    let mut masks = masks.lock().unwrap_or_else(|e| e.into_inner());
    if masks.len() > MAX_MASKS {
        masks.clear();
    }
    masks.insert(key, made.clone());
    made
}

/// Each glyph of `text` with its pen position, from 0.
fn layout(text: &str, size: f64, bold: bool) -> (Vec<(GlyphId, f32)>, f32) {
    let font = face(bold).as_scaled(PxScale::from(size as f32));
    let mut pen = 0.0f32;
    let mut previous: Option<GlyphId> = None;
    let mut glyphs = Vec::with_capacity(text.len());
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(p) = previous {
            pen += font.kern(p, id);
        }
        glyphs.push((id, pen));
        pen += font.h_advance(id);
        previous = Some(id);
    }
    (glyphs, pen)
}

/// The width of `text` in pixels.
pub fn width(text: &str, size: f64, bold: bool) -> f64 {
    advances(text, size, bold).sum::<f32>() as f64
}

/// Each character's share of the width: its advance and the kerning before it.
pub fn advances(text: &str, size: f64, bold: bool) -> impl Iterator<Item = f32> + '_ {
    let font = face(bold).as_scaled(PxScale::from(size as f32));
    let mut previous: Option<GlyphId> = None;
    text.chars().map(move |c| {
        let id = font.glyph_id(c);
        let kern = previous.map_or(0.0, |p| font.kern(p, id));
        previous = Some(id);
        kern + font.h_advance(id)
    })
}

/// Draws `text` with its left end at `x` and its vertical middle (between
/// ascender and descender) at `y`, in `color`.
#[allow(clippy::too_many_arguments)]
pub fn draw(
    pixels: &mut [u8],
    width: usize,
    height: usize,
    text: &str,
    (x, y): (f64, f64),
    size: f64,
    bold: bool,
    color: (u8, u8, u8),
) {
    let font = face(bold).as_scaled(PxScale::from(size as f32));
    let baseline = (y + (font.ascent() + font.descent()) as f64 / 2.0).round() as i32;
    let (glyphs, _) = layout(text, size, bold);
    let color = [color.0 as u32, color.1 as u32, color.2 as u32];
    for (id, pen) in glyphs {
        let gx = x + pen as f64;
        let whole = gx.floor();
        let quarter = ((gx - whole) * 4.0) as u8;
        let key = (bold, (size * 16.0) as u32, id.0, quarter);
        let Some(mask) = mask(key, id, size, bold, quarter) else {
            continue;
        };
        let (ox, oy) = (whole as i32 + mask.left, baseline + mask.top);
        for (row, line) in mask.coverage.chunks(mask.width.max(1)).enumerate() {
            let py = oy + row as i32;
            if py < 0 || py as usize >= height {
                continue;
            }
            for (col, &c) in line.iter().enumerate() {
                let px = ox + col as i32;
                if c == 0 || px < 0 || px as usize >= width {
                    continue;
                }
                let alpha = c as u32 + 1;
                let at = (py as usize * width + px as usize) * 3;
                for (channel, ink) in pixels[at..at + 3].iter_mut().zip(color) {
                    *channel = ((*channel as u32 * (256 - alpha) + ink * alpha) >> 8) as u8;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_faces_read_and_measure_latin_and_cyrillic() {
        let latin = width("Villages", 14.0, false);
        assert!(latin > 40.0 && latin < 80.0, "{latin}");
        assert!(width("Сёла", 14.0, false) > 20.0);
        assert!(width("Villages", 14.0, true) > latin);
        // Kerning is applied: "AV" is narrower than "A" and "V" apart.
        assert!(width("AV", 20.0, false) < width("A", 20.0, false) + width("V", 20.0, false));
    }

    #[test]
    fn text_is_drawn_where_it_is_placed() {
        let (w, h) = (120usize, 40usize);
        let mut pixels = vec![255u8; w * h * 3];
        draw(
            &mut pixels,
            w,
            h,
            "Ёлка 34%",
            (10.0, 20.0),
            16.0,
            true,
            (0, 0, 0),
        );
        let dark: Vec<(usize, usize)> = (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .filter(|&(x, y)| pixels[(y * w + x) * 3] < 128)
            .collect();
        assert!(dark.len() > 100, "{}", dark.len());
        let (min_x, max_x) = (
            dark.iter().map(|p| p.0).min().unwrap(),
            dark.iter().map(|p| p.0).max().unwrap(),
        );
        let (min_y, max_y) = (
            dark.iter().map(|p| p.1).min().unwrap(),
            dark.iter().map(|p| p.1).max().unwrap(),
        );
        assert!(min_x >= 10 && (max_x as f64) <= 10.0 + width("Ёлка 34%", 16.0, true) + 1.0);
        // Centred on y = 20 within a line's height.
        assert!(min_y >= 8 && max_y <= 32, "{min_y}..{max_y}");
        // Drawing off the edges is clipped, not a panic.
        draw(
            &mut pixels,
            w,
            h,
            "edge",
            (110.0, 39.0),
            16.0,
            false,
            (0, 0, 0),
        );
        draw(
            &mut pixels,
            w,
            h,
            "edge",
            (-20.0, -5.0),
            16.0,
            false,
            (0, 0, 0),
        );
    }
}
