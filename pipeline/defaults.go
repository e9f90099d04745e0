package pipeline

// Defaults of Config, which the command's flags show as theirs.
const (
	// DefaultQPS is Config.QPS when it is zero.
	DefaultQPS = 10
	// DefaultMaxAttempts is Config.MaxAttempts when it is zero.
	DefaultMaxAttempts = 4
)
