import AIVCore

/// Every built-in step kind. A new kind is one file plus one line here.
public enum BuiltinSteps {
    public static let all: [any Step.Type] = [
        TranscriptLoadStep.self,
        TemplateRenderStep.self,
        FileWriteStep.self,
        ListMergeStep.self,
        ListFilterStep.self,
        ListMapStep.self,
        ListSortStep.self,
        ListDedupeStep.self,
        StockMergeStep.self,
        VideoChaptersStep.self,
        GeminiGenerateStep.self,
        NotionUpsertStep.self,
        MediaProbeStep.self,
        ClipCutStep.self,
        ClipReframeStep.self,
        SubtitlesExtractStep.self,
        SubtitlesWriteStep.self,
        OBSSceneStep.self,
        OBSTextStep.self,
        OBSRecordStep.self,
        OBSReplaySaveStep.self,
        OBSWaitEventStep.self,
        OBSRequestStep.self,
        OBSBatchStep.self,
    ]

    /// Kind name → implementation, for the runtime.
    public static let byName: [String: any Step.Type] = Dictionary(uniqueKeysWithValues: all.map { ($0.kind.name, $0) })
}

extension StepRegistry {
    /// The registry validation, `aiv schema` and `aiv kinds` read: every built-in kind and service.
    public static let builtin = StepRegistry(kinds: BuiltinSteps.all.map { $0.kind }, services: BuiltinServices.all)
}
