package main

import (
	"fmt"
	"os"

	"github.com/cardverify/cardverify/reader"
)

func main() {
	r, err := reader.Open(os.Args[1], reader.Options{Sheet: os.Getenv("SHEET")})
	if err != nil {
		fmt.Println("ERR", err)
		return
	}
	fmt.Printf("%+v\n", r.Layout())
	for {
		rec, err := r.Next()
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Printf("%d kind=%d name=%q card=%q p=%q w=%q cells=%+v\n", rec.RowNo, rec.Kind, rec.Name, rec.Card, rec.Problems, rec.Warnings, rec.Cells)
	}
}
