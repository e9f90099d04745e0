//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package main

import "io"

// terminalWidth is 0: the width of a terminal is not known here.
func terminalWidth(io.Writer) int { return 0 }
