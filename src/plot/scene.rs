//! A laid-out chart as shapes in pixels, and drawing it as PNG or SVG with
//! plotters. Bands (translucent intervals) are drawn first in both formats;
//! for PNG they are filled here, column by column straight into the pixel
//! buffer, because plotters fills a translucent polygon pixel by pixel
//! through its generic backend, which was most of a chart's drawing time.

use plotters::backend::{BitMapBackend, DrawingBackend};
use plotters::coord::Shift;
use plotters::drawing::{DrawingArea, IntoDrawingArea};
use plotters::element::{Circle, PathElement};
use plotters::style::{Color, RGBColor, ShapeStyle};

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

    /// The width of `text` in pixels.
    pub fn width(self, text: &str) -> f64 {
        crate::plot::text::width(text, self.size, self.bold)
    }

    /// The height of a line of text, with leading.
    pub fn line_height(self) -> f64 {
        (self.size * 1.3).ceil()
    }

    /// `text` broken into lines no wider than `width`, at spaces (each word
    /// measured once).
    pub fn wrap(self, text: &str, width: f64) -> Vec<String> {
        let space = self.width(" ");
        let mut lines = Vec::new();
        let mut line = String::new();
        let mut used = 0.0;
        for word in text.split_whitespace() {
            let w = self.width(word);
            if !line.is_empty() && used + space + w > width {
                lines.push(std::mem::take(&mut line));
                used = 0.0;
            }
            if !line.is_empty() {
                line.push(' ');
                used += space;
            }
            line.push_str(word);
            used += w;
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }

    /// `text` cut with an ellipsis to fit `width`.
    pub fn fit(self, text: &str, width: f64) -> String {
        let advances: Vec<f32> = crate::plot::text::advances(text, self.size, self.bold).collect();
        if advances.iter().sum::<f32>() as f64 <= width {
            return text.to_string();
        }
        let room = width - self.width("…");
        let mut used = 0.0;
        let mut end = 0;
        for ((i, _), a) in text.char_indices().zip(&advances) {
            if used + *a as f64 > room {
                break;
            }
            used += *a as f64;
            end = i + text[i..].chars().next().map_or(0, char::len_utf8);
        }
        let cut = text[..end].trim_end();
        if cut.is_empty() {
            String::new()
        } else {
            format!("{cut}…")
        }
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
    /// Said to screen readers by the SVG.
    pub title: String,
    pub shapes: Vec<Shape>,
}

impl Scene {
    pub fn new(width: u32, height: u32) -> Scene {
        Scene {
            width,
            height,
            title: String::new(),
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
            self.draw(&root);
            // Drawing into memory cannot fail.
            let _ = root.present();
        }
        for shape in &self.shapes {
            if let Shape::Text {
                text,
                at,
                font,
                color,
                anchor,
            } = shape
            {
                let left = match anchor {
                    Anchor::Left => at.0,
                    Anchor::Center => at.0 - font.width(text) / 2.0,
                    Anchor::Right => at.0 - font.width(text),
                };
                crate::plot::text::draw(
                    &mut pixels,
                    w,
                    h,
                    text,
                    (left, at.1),
                    font.size,
                    font.bold,
                    *color,
                );
            }
        }
        encode_png(&pixels, self.width, self.height)
    }

    /// SVG written directly rather than through plotters' SVG backend, which
    /// turns a dashed line into one element per dash, names a font family
    /// with no fallback, and has no place for a title.
    fn svg(&self) -> String {
        use std::fmt::Write;
        let mut out = String::with_capacity(32 * 1024 + self.shapes.len() * 64);
        let (w, h) = (self.width, self.height);
        let _ = write!(
            out,
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" font-family="DejaVu Sans, Verdana, sans-serif"><title>{}</title><rect width="{w}" height="{h}" fill="#fff"/>"##,
            escape(&self.title)
        );
        let points = |out: &mut String, list: &mut dyn Iterator<Item = &(f64, f64)>| {
            for (i, (x, y)) in list.enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                tenths(out, *x);
                out.push(',');
                tenths(out, *y);
            }
        };
        for shape in &self.shapes {
            if let Shape::Band {
                color,
                opacity,
                upper,
                lower,
            } = shape
            {
                out.push_str(r#"<polygon points=""#);
                points(&mut out, &mut upper.iter().chain(lower.iter().rev()));
                let _ = write!(
                    out,
                    r#"" fill="{}" fill-opacity="{opacity}"/>"#,
                    hex(*color)
                );
            }
        }
        for shape in &self.shapes {
            match shape {
                Shape::Band { .. } => {}
                Shape::Path {
                    color,
                    opacity,
                    width,
                    points: list,
                } => {
                    out.push_str(r#"<polyline points=""#);
                    points(&mut out, &mut list.iter());
                    let _ = write!(
                        out,
                        r#"" fill="none" stroke="{}" stroke-width="{width}"{} stroke-linejoin="round" stroke-linecap="round"/>"#,
                        hex(*color),
                        if *opacity < 1.0 {
                            format!(r#" stroke-opacity="{opacity}""#)
                        } else {
                            String::new()
                        }
                    );
                }
                Shape::Dashed {
                    color,
                    from,
                    to,
                    dash,
                } => {
                    let _ = write!(
                        out,
                        r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{}" stroke-width="1" stroke-dasharray="{dash} {dash}"/>"#,
                        from.0,
                        from.1,
                        to.0,
                        to.1,
                        hex(*color)
                    );
                }
                Shape::Dot { color, at, radius } => {
                    let _ = write!(
                        out,
                        r#"<circle cx="{:.1}" cy="{:.1}" r="{radius:.1}" fill="{}"/>"#,
                        at.0,
                        at.1,
                        hex(*color)
                    );
                }
                Shape::Text {
                    text,
                    at,
                    font,
                    color,
                    anchor,
                } => {
                    let anchor = match anchor {
                        Anchor::Left => "start",
                        Anchor::Center => "middle",
                        Anchor::Right => "end",
                    };
                    let _ = write!(
                        out,
                        r#"<text x="{:.1}" y="{:.1}" font-size="{:.1}"{} fill="{}" text-anchor="{anchor}" dominant-baseline="central">{}</text>"#,
                        at.0,
                        at.1,
                        font.size,
                        if font.bold {
                            r#" font-weight="bold""#
                        } else {
                            ""
                        },
                        hex(*color),
                        escape(text)
                    );
                }
            }
        }
        out.push_str("</svg>\n");
        out
    }

    /// Everything but the bands (filled into the pixels before).
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) {
        let px = |(x, y): (f64, f64)| (x.round() as i32, y.round() as i32);
        for shape in &self.shapes {
            let _ = match shape {
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
                // Bands were filled before, text is drawn after, from cached glyphs.
                Shape::Band { .. } | Shape::Text { .. } => Ok(()),
            };
        }
    }
}

fn rgb((r, g, b): Rgb) -> RGBColor {
    RGBColor(r, g, b)
}

/// `v` with one decimal, written through integers: float formatting was most
/// of an SVG's time.
fn tenths(out: &mut String, v: f64) {
    use std::fmt::Write;
    let t = (v * 10.0).round() as i64;
    if t < 0 {
        out.push('-');
    }
    let (whole, tenth) = (t.unsigned_abs() / 10, t.unsigned_abs() % 10);
    let _ = write!(out, "{whole}");
    if tenth != 0 {
        out.push('.');
        out.push(char::from(b'0' + tenth as u8));
    }
}

fn hex((r, g, b): Rgb) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Text for XML: the five characters with a meaning there escaped.
fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return text.into();
    }
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
        .into()
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
    // Blending in 1/256ths: integer arithmetic, no rounding per channel.
    let color = [color.0 as u32, color.1 as u32, color.2 as u32];
    let blend = |pixel: &mut [u8], alpha: u32| {
        for (channel, c) in pixel.iter_mut().zip(color) {
            *channel = ((*channel as u32 * (256 - alpha) + c * alpha) >> 8) as u8;
        }
    };
    let full = (opacity * 256.0).round() as u32;
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
                // Whole pixels inside the band take the full opacity; the
                // edge pixels, the share of them the band covers.
                let alpha = if r >= top && r + 1.0 <= bottom {
                    full
                } else {
                    let coverage = (bottom.min(r + 1.0) - top.max(r)).clamp(0.0, 1.0);
                    (opacity * coverage * 256.0) as u32
                };
                let at = (row * width + column) * 3;
                blend(&mut pixels[at..at + 3], alpha);
            }
        }
    }
}

fn encode_png(pixels: &[u8], width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(pixels.len() / 8);
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // Measured on the 8-group chart (1200x700): fast deflate with the Sub
    // filter 1.0 ms and 212 KB; adaptive filters 2.1 ms, 193 KB; balanced
    // deflate 11 ms, 72 KB. Charts are cached once drawn, but the first
    // drawing is what a reader waits for.
    encoder.set_compression(png::Compression::Fast);
    encoder.set_filter(png::Filter::Sub);
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
        assert_eq!(at(3, 7), 127);
        assert_eq!(at(3, 10), 255);
    }

    #[test]
    fn coordinates_are_written_to_a_tenth() {
        let mut out = String::new();
        for v in [0.0, 12.34, -3.05, 7.96, -0.04, 1199.99] {
            tenths(&mut out, v);
            out.push(' ');
        }
        assert_eq!(out, "0 12.3 -3.1 8 0 1200 ");
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
        scene.title = "A <b> & \"c\"".into();
        let svg = String::from_utf8(scene.render(Format::Svg)).unwrap();
        assert!(
            svg.contains("<title>A &lt;b&gt; &amp; &quot;c&quot;</title>"),
            "{svg}"
        );
    }
}
