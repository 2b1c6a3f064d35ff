import AIVCore

extension StepRegistry {
    /// Every built-in step kind and service. A new kind is one file plus one line here.
    public static let builtin = StepRegistry(
        kinds: [
            TranscriptLoadStep.kind,
            TemplateRenderStep.kind,
            FileWriteStep.kind,
            ListMergeStep.kind,
            ListFilterStep.kind,
            ListSortStep.kind,
            ListDedupeStep.kind,
        ],
        services: BuiltinServices.all)
}
