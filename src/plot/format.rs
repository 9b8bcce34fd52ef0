//! Numbers, dates and p-values as a reader of the chart's language writes them.

use chrono::{Datelike, NaiveDate};

use crate::plot::{Unit, Words};

/// `value` with `decimals` places, a true minus sign, and a decimal comma
/// where the language has one.
pub fn number(value: f64, decimals: usize, words: &Words) -> String {
    let mut s = format!("{:.*}", decimals, value.abs());
    if words.decimal_comma {
        s = s.replace('.', ",");
    }
    // "-0.0" is zero: no sign.
    let rounded_zero = s.chars().all(|c| c == '0' || c == '.' || c == ',');
    if value < 0.0 && !rounded_zero {
        format!("\u{2212}{s}")
    } else {
        s
    }
}

/// A signed difference: "+2.4", "−23.4", "0.0".
pub fn signed(value: f64, decimals: usize, words: &Words) -> String {
    let s = number(value, decimals, words);
    if value > 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0') {
        format!("+{s}")
    } else {
        s
    }
}

/// A value in its unit as labels show it: "34%", "+12", "3.4".
pub fn value(v: f64, unit: Unit, words: &Words) -> String {
    match unit {
        Unit::Percent => format!("{}%", number(v, 0, words)),
        Unit::Points => signed(v, 0, words),
        Unit::Scale { .. } => number(v, 1, words),
    }
}

/// A tick label: like `value` but with as many decimals as the step needs.
pub fn tick(v: f64, step: f64, unit: Unit, words: &Words) -> String {
    let decimals = if step.fract().abs() < 1e-9 { 0 } else { 1 };
    match unit {
        Unit::Percent => format!("{}%", number(v, decimals, words)),
        Unit::Points => signed(v, decimals, words),
        Unit::Scale { .. } => number(v, decimals, words),
    }
}

/// "Apr 2023" / "апр 2023".
pub fn month(date: NaiveDate, words: &Words) -> String {
    format!("{} {}", words.months[date.month0() as usize], date.year())
}

/// "p = 0.52", "p = 0.003", "p < 0.001".
pub fn p_value(p: f64, words: &Words) -> String {
    if p < 0.001 {
        format!("p < {}", number(0.001, 3, words))
    } else if p < 0.01 {
        format!("p = {}", number(p, 3, words))
    } else {
        format!("p = {}", number(p, 2, words))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_the_language() {
        assert_eq!(number(-23.44, 1, &Words::EN), "\u{2212}23.4");
        assert_eq!(number(-23.44, 1, &Words::RU), "\u{2212}23,4");
        assert_eq!(number(-0.04, 1, &Words::EN), "0.0");
        assert_eq!(signed(2.36, 1, &Words::EN), "+2.4");
        assert_eq!(signed(0.01, 1, &Words::EN), "0.0");
        assert_eq!(value(33.6, Unit::Percent, &Words::EN), "34%");
        assert_eq!(value(-12.2, Unit::Points, &Words::EN), "\u{2212}12");
        assert_eq!(
            value(3.46, Unit::Scale { min: 1.0, max: 5.0 }, &Words::RU),
            "3,5"
        );
        assert_eq!(
            tick(2.5, 0.5, Unit::Scale { min: 1.0, max: 5.0 }, &Words::EN),
            "2.5"
        );
        assert_eq!(tick(40.0, 20.0, Unit::Percent, &Words::EN), "40%");
    }

    #[test]
    fn months_and_p_values() {
        let d = NaiveDate::from_ymd_opt(2023, 4, 11).unwrap();
        assert_eq!(month(d, &Words::EN), "Apr 2023");
        assert_eq!(month(d, &Words::RU), "апр 2023");
        assert_eq!(p_value(0.0004, &Words::EN), "p < 0.001");
        assert_eq!(p_value(0.0042, &Words::EN), "p = 0.004");
        assert_eq!(p_value(0.523, &Words::RU), "p = 0,52");
    }
}
