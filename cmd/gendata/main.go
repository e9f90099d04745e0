// Command gendata writes a seeded, realistic customer list for cardverify's
// benchmarks and demos:
//
//	go run ./cmd/gendata -rows 1000000 -format csv -seed 1 -out list.csv
//
// The list has a header row (客户编号, 姓名, 银行卡号, 手机号, 开户行) and
// -rows data rows: Chinese names, Luhn-valid 16- and 19-digit card numbers
// kept as text, phone numbers, customer numbers with leading zeros, about 1%
// duplicates and about 0.5% rows that fail validation (see package
// cmd/internal/gen). The same seed writes the same list.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cardverify/cardverify/cmd/internal/gen"
)

func main() {
	var o gen.Options
	flag.IntVar(&o.Rows, "rows", 1000, "data rows")
	flag.Uint64Var(&o.Seed, "seed", 1, "seed: the same seed writes the same list")
	format := flag.String("format", "", "csv or xlsx (default: from -out's extension)")
	out := flag.String("out", "", "output `path` (required)")
	flag.BoolVar(&o.Clean, "clean", false, "no duplicates and no invalid rows: every row is one API call")
	flag.Parse()
	if *out == "" || o.Rows < 0 || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: gendata -rows N -format csv|xlsx [-seed S] [-clean] -out PATH")
		os.Exit(2)
	}
	if *format == "" {
		*format = strings.TrimPrefix(strings.ToLower(filepath.Ext(*out)), ".")
	}
	if err := gen.Write(*out, *format, o); err != nil {
		fmt.Fprintln(os.Stderr, "gendata:", err)
		os.Exit(1)
	}
}
