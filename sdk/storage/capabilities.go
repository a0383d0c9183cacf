package storage

// Capabilities a storage component announces (plugin.Capabler) for what
// its interfaces cannot say. CapabilityAttach and CapabilityAttached need
// no announcing: Serve announces them for a component that implements
// Attacher or AttachedReader. Use these constants rather than the strings,
// which the core compares them with.
const (
	// CapabilityGetDir: Get writes a tree, not only single objects.
	CapabilityGetDir = "storage:get-dir"
	// CapabilityPut: Put is offered (a read-only backend answers
	// errors.ErrUnsupported).
	CapabilityPut = "storage:put"
	// CapabilityPutDir: Put uploads a tree, not only single files.
	CapabilityPutDir = "storage:put-dir"
	// CapabilityProgress: Get and Put report progress.
	CapabilityProgress = "storage:progress"
	// CapabilityResume: Get resumes a broken download where it stopped.
	CapabilityResume = "storage:resume"
	// CapabilityRevision: the backend is versioned (git): Get fills
	// GetResponse.Revision, which the core records and pins.
	CapabilityRevision = "storage:revision"
)
