//! A laid-out chart as shapes in pixels, and drawing it as PNG or SVG with
//! plotters. Bands (translucent intervals) are drawn first in both formats;
//! for PNG they are filled here, column by column straight into the pixel
//! buffer, because plotters fills a translucent polygon pixel by pixel
//! through its generic backend, which was most of a chart's drawing time.

use std::sync::Once;

use plotters::backend::{BitMapBackend, DrawingBackend, SVGBackend};
use plotters::coord::Shift;
use plotters::drawing::{DrawingArea, IntoDrawingArea};
use plotters::element::{Circle, PathElement, Text};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, FontDesc, FontFamily, FontStyle, RGBColor, ShapeStyle, TextStyle};

/// DejaVu Sans (Latin and Cyrillic), embedded so text never depends on the
/// system's fonts; licence in assets/fonts/LICENSE.
const REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");
const FAMILY: &str = "sans-serif";

fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Both are checked by a unit test; a font that failed would draw no text.
        for (style, bytes) in [(FontStyle::Normal, REGULAR), (FontStyle::Bold, BOLD)] {
            if plotters::style::register_font(FAMILY, style, bytes).is_err() {
                tracing::error!("the embedded chart font could not be read");
            }
        }
    });
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Png,
    Svg,
}

impl Format {
    pub fn parse(extension: &str) -> Option<Format> {
        match extension {
            "png" => Some(Format::Png),
            "svg" => Some(Format::Svg),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Svg => "svg",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Png => "image/png",
            Format::Svg => "image/svg+xml",
        }
    }
}

pub type Rgb = (u8, u8, u8);
pub const INK: Rgb = (20, 20, 20);
pub const MUTED: Rgb = (90, 90, 90);
pub const FAINT: Rgb = (110, 110, 110);
pub const GRID: Rgb = (225, 225, 225);
pub const CONTEXT: Rgb = (200, 200, 200);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Left,
    Center,
    Right,
}

/// A text's font: size in pixels and weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Font {
    pub size: f64,
    pub bold: bool,
}

impl Font {
    pub fn regular(size: f64) -> Font {
        Font { size, bold: false }
    }

    pub fn bold(size: f64) -> Font {
        Font { size, bold: true }
    }

    fn desc(self) -> FontDesc<'static> {
        let style = if self.bold {
            FontStyle::Bold
        } else {
            FontStyle::Normal
        };
        // Bold must be asked for when the font is made: `.style()` on a
        // made font keeps the regular face.
        FontDesc::new(FontFamily::Name(FAMILY), self.size, style)
    }

    /// The width of `text` in pixels.
    pub fn width(self, text: &str) -> f64 {
        register_fonts();
        self.desc()
            .box_size(text)
            .map(|(w, _)| w as f64)
            .unwrap_or(0.0)
    }

    /// The height of a line of text, with leading.
    pub fn line_height(self) -> f64 {
        (self.size * 1.3).ceil()
    }

    /// `text` broken into lines no wider than `width`, at spaces.
    pub fn wrap(self, text: &str, width: f64) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if !line.is_empty() && self.width(&candidate) > width {
                lines.push(std::mem::replace(&mut line, word.to_string()));
            } else {
                line = candidate;
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }

    /// `text` cut with an ellipsis to fit `width`.
    pub fn fit(self, text: &str, width: f64) -> String {
        if self.width(text) <= width {
            return text.to_string();
        }
        let mut chars: Vec<char> = text.chars().collect();
        while !chars.is_empty() {
            chars.pop();
            let cut: String = chars.iter().collect::<String>().trim_end().to_string() + "…";
            if self.width(&cut) <= width {
                return cut;
            }
        }
        String::new()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// The area between two polylines over the same x positions.
    Band {
        color: Rgb,
        opacity: f64,
        upper: Vec<(f64, f64)>,
        lower: Vec<(f64, f64)>,
    },
    Path {
        color: Rgb,
        opacity: f64,
        width: u32,
        points: Vec<(f64, f64)>,
    },
    /// A dashed straight line.
    Dashed {
        color: Rgb,
        from: (f64, f64),
        to: (f64, f64),
        dash: f64,
    },
    Dot {
        color: Rgb,
        at: (f64, f64),
        radius: f64,
    },
    /// `at` is the text's vertical middle, at its left, centre or right.
    Text {
        text: String,
        at: (f64, f64),
        font: Font,
        color: Rgb,
        anchor: Anchor,
    },
}

/// Everything a chart draws, in order (bands first whatever their place).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scene {
    pub width: u32,
    pub height: u32,
    pub shapes: Vec<Shape>,
}

impl Scene {
    pub fn new(width: u32, height: u32) -> Scene {
        Scene {
            width,
            height,
            shapes: Vec::new(),
        }
    }

    pub fn push(&mut self, shape: Shape) {
        self.shapes.push(shape);
    }

    pub fn text(&mut self, text: impl Into<String>, at: (f64, f64), font: Font, color: Rgb) {
        self.push(Shape::Text {
            text: text.into(),
            at,
            font,
            color,
            anchor: Anchor::Left,
        });
    }

    pub fn text_anchored(
        &mut self,
        text: impl Into<String>,
        at: (f64, f64),
        font: Font,
        color: Rgb,
        anchor: Anchor,
    ) {
        self.push(Shape::Text {
            text: text.into(),
            at,
            font,
            color,
            anchor,
        });
    }

    pub fn line(&mut self, from: (f64, f64), to: (f64, f64), color: Rgb, width: u32) {
        self.push(Shape::Path {
            color,
            opacity: 1.0,
            width,
            points: vec![from, to],
        });
    }

    /// The picture in `format`.
    pub fn render(&self, format: Format) -> Vec<u8> {
        register_fonts();
        match format {
            Format::Png => self.png(),
            Format::Svg => self.svg().into_bytes(),
        }
    }

    fn png(&self) -> Vec<u8> {
        let (w, h) = (self.width as usize, self.height as usize);
        let mut pixels = vec![255u8; w * h * 3];
        for shape in &self.shapes {
            if let Shape::Band {
                color,
                opacity,
                upper,
                lower,
            } = shape
            {
                fill_band(&mut pixels, w, h, *color, *opacity, upper, lower);
            }
        }
        {
            let root = BitMapBackend::with_buffer(&mut pixels, (self.width, self.height))
                .into_drawing_area();
            self.draw(&root, false);
            // Drawing into memory cannot fail; a glyph that could not be
            // drawn leaves its place blank rather than losing the chart.
            let _ = root.present();
        }
        encode_png(&pixels, self.width, self.height)
    }

    fn svg(&self) -> String {
        let mut out = String::new();
        {
            let root =
                SVGBackend::with_string(&mut out, (self.width, self.height)).into_drawing_area();
            let _ = root.fill(&RGBColor(255, 255, 255));
            self.draw(&root, true);
            let _ = root.present();
        }
        out
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, bands: bool) {
        let px = |(x, y): (f64, f64)| (x.round() as i32, y.round() as i32);
        if bands {
            for shape in &self.shapes {
                if let Shape::Band {
                    color,
                    opacity,
                    upper,
                    lower,
                } = shape
                {
                    let outline: Vec<(i32, i32)> = upper
                        .iter()
                        .chain(lower.iter().rev())
                        .map(|&p| px(p))
                        .collect();
                    let style = rgb(*color).mix(*opacity).filled();
                    let _ = root.draw(&plotters::element::Polygon::new(outline, style));
                }
            }
        }
        for shape in &self.shapes {
            let _ = match shape {
                Shape::Band { .. } => Ok(()),
                Shape::Path {
                    color,
                    opacity,
                    width,
                    points,
                } => {
                    let style = ShapeStyle {
                        color: rgb(*color).mix(*opacity),
                        filled: false,
                        stroke_width: *width,
                    };
                    root.draw(&PathElement::new(
                        points.iter().map(|&p| px(p)).collect::<Vec<_>>(),
                        style,
                    ))
                }
                Shape::Dashed {
                    color,
                    from,
                    to,
                    dash,
                } => {
                    let (dx, dy) = (to.0 - from.0, to.1 - from.1);
                    let length = (dx * dx + dy * dy).sqrt();
                    let steps = (length / (2.0 * dash)).ceil() as usize;
                    let style = rgb(*color).stroke_width(1);
                    let mut result = Ok(());
                    for i in 0..steps {
                        let t0 = (2.0 * dash * i as f64) / length;
                        let t1 = ((2.0 * dash * i as f64 + dash) / length).min(1.0);
                        let a = (from.0 + dx * t0, from.1 + dy * t0);
                        let b = (from.0 + dx * t1, from.1 + dy * t1);
                        result = root.draw(&PathElement::new(vec![px(a), px(b)], style));
                    }
                    result
                }
                Shape::Dot { color, at, radius } => root.draw(&Circle::new(
                    px(*at),
                    radius.round() as i32,
                    rgb(*color).filled(),
                )),
                Shape::Text {
                    text,
                    at,
                    font,
                    color,
                    anchor,
                } => {
                    let h = match anchor {
                        Anchor::Left => HPos::Left,
                        Anchor::Center => HPos::Center,
                        Anchor::Right => HPos::Right,
                    };
                    let ink = rgb(*color);
                    let style = TextStyle::from(font.desc())
                        .color(&ink)
                        .pos(Pos::new(h, VPos::Center));
                    root.draw(&Text::new(text.as_str(), px(*at), style))
                }
            };
        }
    }
}

fn rgb((r, g, b): Rgb) -> RGBColor {
    RGBColor(r, g, b)
}

/// Fills the area between `upper` and `lower` (same x positions, left to
/// right) at `opacity`, with the top and bottom pixel of each column blended
/// by how much of it the band covers (smooth edges).
fn fill_band(
    pixels: &mut [u8],
    width: usize,
    height: usize,
    color: Rgb,
    opacity: f64,
    upper: &[(f64, f64)],
    lower: &[(f64, f64)],
) {
    let color = [color.0 as f64, color.1 as f64, color.2 as f64];
    for (u, l) in upper.windows(2).zip(lower.windows(2)) {
        let (x0, x1) = (u[0].0, u[1].0);
        if x1 <= x0 {
            continue;
        }
        let first = x0.round().max(0.0) as usize;
        let last = (x1.round() as usize).min(width);
        for column in first..last {
            let t = ((column as f64 + 0.5 - x0) / (x1 - x0)).clamp(0.0, 1.0);
            let top = u[0].1 + (u[1].1 - u[0].1) * t;
            let bottom = l[0].1 + (l[1].1 - l[0].1) * t;
            let (top, bottom) = (top.min(bottom), top.max(bottom));
            let row0 = top.floor().max(0.0) as usize;
            let row1 = (bottom.ceil() as usize).min(height);
            for row in row0..row1 {
                let r = row as f64;
                let coverage = (bottom.min(r + 1.0) - top.max(r)).clamp(0.0, 1.0);
                let a = opacity * coverage;
                let at = (row * width + column) * 3;
                for (channel, c) in pixels[at..at + 3].iter_mut().zip(color) {
                    *channel = (*channel as f64 * (1.0 - a) + c * a).round() as u8;
                }
            }
        }
    }
}

fn encode_png(pixels: &[u8], width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(pixels.len() / 8);
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // Charts are mostly flat colour: the fast deflate is within a few percent
    // of the best size at a fraction of the time.
    encoder.set_compression(png::Compression::Fast);
    match encoder
        .write_header()
        .and_then(|mut w| w.write_image_data(pixels))
    {
        Ok(()) => out,
        Err(e) => {
            // Only a size mismatch can fail here, and sizes are ours.
            tracing::error!(error = %e, "PNG encoding failed");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_fonts_measure_latin_and_cyrillic() {
        let font = Font::regular(14.0);
        let latin = font.width("Villages");
        let cyrillic = font.width("Сёла");
        assert!(latin > 40.0 && latin < 80.0, "{latin}");
        assert!(cyrillic > 20.0, "{cyrillic}");
        assert!(Font::bold(14.0).width("Villages") > latin);
    }

    #[test]
    fn wrapping_and_fitting_keep_within_the_width() {
        let font = Font::regular(12.0);
        let lines = font.wrap("one two three four five six seven eight nine ten", 80.0);
        assert!(lines.len() > 2);
        assert!(
            lines
                .iter()
                .all(|l| font.width(l) <= 80.0 || !l.contains(' '))
        );
        assert_eq!(
            lines.join(" "),
            "one two three four five six seven eight nine ten"
        );
        let cut = font.fit("State Duma passes the electronic draft-notice law", 100.0);
        assert!(cut.ends_with('…') && font.width(&cut) <= 100.0, "{cut}");
    }

    #[test]
    fn a_band_fills_between_its_edges_only() {
        let (w, h) = (20usize, 20usize);
        let mut pixels = vec![255u8; w * h * 3];
        let upper = [(0.0, 5.0), (20.0, 5.0)];
        let lower = [(0.0, 10.0), (20.0, 10.0)];
        fill_band(&mut pixels, w, h, (0, 0, 0), 0.5, &upper, &lower);
        let at = |x: usize, y: usize| pixels[(y * w + x) * 3];
        assert_eq!(at(3, 4), 255);
        assert_eq!(at(3, 7), 128);
        assert_eq!(at(3, 10), 255);
    }

    #[test]
    fn both_formats_draw() {
        let mut scene = Scene::new(200, 100);
        scene.push(Shape::Band {
            color: (0, 114, 178),
            opacity: 0.2,
            upper: vec![(10.0, 20.0), (190.0, 30.0)],
            lower: vec![(10.0, 60.0), (190.0, 70.0)],
        });
        scene.text("Сёла 34%", (20.0, 50.0), Font::bold(14.0), INK);
        let png = scene.render(Format::Png);
        assert_eq!(&png[1..4], b"PNG");
        let svg = String::from_utf8(scene.render(Format::Svg)).unwrap();
        assert!(svg.contains("<svg") && svg.contains("Сёла 34%") && svg.contains("polygon"));
    }
}
