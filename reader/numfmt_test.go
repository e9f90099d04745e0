package reader

import (
	"strconv"
	"testing"
)

func TestFormatNumber(t *testing.T) {
	tests := []struct {
		raw, code, want string
	}{
		{"42", "", "42"},
		{"0042", "", "42"},
		{"-7", "", "-7"},
		{"0.1", "", "0.1"},
		{"1234.5", "", "1234.5"},
		{"6.22202123456789E+018", "", "6.22202123456789E+18"},
		{"6222021234567890128", "", "6.22202123456789E+18"},
		{"123456789012345", "", "123456789012345"},
		{"1E-7", "", "1E-07"},
		{"6.22202123456789E+018", "0", "6222021234567890000"},
		{"622202123452", "0", "622202123452"},
		{"2.5", "0", "3"},
		{"1234.5", "#,##0.00", "1,234.50"},
		{"1234567", "#,##0", "1,234,567"},
		{"-1234.5", "#,##0.00", "-1,234.50"},
		{"-1234.5", "#,##0.00;(#,##0.00)", "(1,234.50)"},
		{"0.256", "0%", "26%"},
		{"0.256", "0.00%", "25.60%"},
		{"12345", "0.00E+00", "1.23E+04"},
		{"0.5", "#.00", ".50"},
		{"7", "000", "007"},
		{"12.5", `"¥"#,##0.00`, "¥12.50"},
		{"12.5", `[$¥-804]#,##0.00`, "¥12.50"},
		{"3", `0"元"`, "3元"},
		{"3", `[Red]0`, "3"},
		{"12", "@", "12"},
	}
	for _, tc := range tests {
		v, err := strconv.ParseFloat(tc.raw, 64)
		if err != nil {
			t.Fatal(err)
		}
		if got := formatNumber(v, tc.raw, tc.code); got != tc.want {
			t.Errorf("formatNumber(%s, %q) = %q, want %q", tc.raw, tc.code, got, tc.want)
		}
	}
}

func TestFormatDate(t *testing.T) {
	tests := []struct {
		serial   float64
		code     string
		date1904 bool
		want     string
	}{
		{45292, "yyyy-mm-dd", false, "2024-01-01"},
		{45292, `yyyy\-mm\-dd`, false, "2024-01-01"},
		{45292, "yyyy/m/d", false, "2024/1/1"},
		{45292, "d-mmm-yy", false, "1-Jan-24"},
		{45292, "dddd, mmmm d", false, "Monday, January 1"},
		{45292, `yyyy"年"m"月"d"日"`, false, "2024年1月1日"},
		{45292.75, "yyyy-mm-dd hh:mm:ss", false, "2024-01-01 18:00:00"},
		{45292.75, "h:mm AM/PM", false, "6:00 PM"},
		{45292.5, "上午/下午h\"时\"mm\"分\"", false, "下午12时00分"},
		{0.5, "[h]:mm:ss", false, "12:00:00"},
		{1.5, "[h]:mm", false, "36:00"},
		{45292.0000115741, "mm:ss.0", false, "00:01.0"},
		{1, "yyyy-mm-dd", false, "1900-01-01"},
		{59, "yyyy-mm-dd", false, "1900-02-28"},
		{61, "yyyy-mm-dd", false, "1900-03-01"},
		{0, "yyyy-mm-dd", true, "1904-01-01"},
		{-1, "yyyy-mm-dd", false, "-1"},
	}
	for _, tc := range tests {
		raw := strconv.FormatFloat(tc.serial, 'f', -1, 64)
		if got := formatDate(tc.serial, raw, tc.code, tc.date1904); got != tc.want {
			t.Errorf("formatDate(%v, %q) = %q, want %q", tc.serial, tc.code, got, tc.want)
		}
	}
}

func TestIsDateFormat(t *testing.T) {
	tests := []struct {
		code string
		want bool
	}{
		{"", false},
		{"General", false},
		{"0", false},
		{"#,##0.00", false},
		{"0.00E+00", false},
		{`0"days"`, false},
		{`[Red]0`, false},
		{"@", false},
		{"yyyy-mm-dd", true},
		{`yyyy\-mm\-dd`, true},
		{"h:mm", true},
		{"[h]:mm:ss", true},
		{`[$-804]yyyy"年"m"月"`, true},
		{`"date"0`, false},
	}
	for _, tc := range tests {
		if got := isDateFormat(tc.code); got != tc.want {
			t.Errorf("isDateFormat(%q) = %v, want %v", tc.code, got, tc.want)
		}
	}
}

func TestFixedDigits(t *testing.T) {
	tests := []struct {
		v        float64
		decimals int
		want     string
	}{
		{0, 2, "0.00"},
		{2.5, 0, "3"},
		{0.5, 0, "1"},
		{0.4, 0, "0"},
		{0.004, 2, "0.00"},
		{0.005, 2, "0.01"},
		{1.005, 2, "1.01"},
		{9.999, 2, "10.00"},
		{99.5, 0, "100"},
		{0.000123, 5, "0.00012"},
		{0.000123, 2, "0.00"},
		{1234.5, 2, "1234.50"},
		{6.22202123456789e18, 0, "6222021234567890000"},
		{123456789012345, 0, "123456789012345"},
	}
	for _, tc := range tests {
		if got := fixedDigits(tc.v, tc.decimals); got != tc.want {
			t.Errorf("fixedDigits(%v, %d) = %q, want %q", tc.v, tc.decimals, got, tc.want)
		}
	}
}
