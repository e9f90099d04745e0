// Package job is the job logic that both faces of cardverify share: the
// command line (cmd/cardverify: run, export, dry run) and the web console
// (serve). It wires package reader, the store checkpoint, the Juhe client
// (or the sandbox) and the writer into pipeline.Run, and writes the
// annotated output.
//
// job never prints verdicts or counts itself: it returns them (Result,
// DryResult) for the face to show. Notices that must reach the person
// running the job at once (the sandbox banner) go to Env.Notice.
package job
