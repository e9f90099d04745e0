package store

import (
	"os"

	"github.com/cardverify/cardverify/pipeline"
)

// openLock opens the sidecar lock file of the checkpoint at abs,
// path+"-lock", creating it (mode 0600) if there is none; lockFile takes
// the lock on it where the system has one.
func openLock(abs, path string) (*os.File, error) {
	f, err := os.OpenFile(abs+"-lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, &pipeline.InputError{Path: path, Msg: pipeline.Reason(pipeline.ErrCreateDB),
			Hint: pipeline.Reason(pipeline.HintDBDir), Err: err}
	}
	return f, nil
}
