//go:build !unix

package main

import "os"

// maxRSS is 0 where wait4's rusage is not available.
func maxRSS(*os.ProcessState) int64 { return 0 }
