import AIVCore

/// The request types of obs-websocket 5.x, from its protocol reference (up to 5.6, OBS 31), so
/// `aiv validate` can flag a misspelt request before a live stream depends on it.
///
/// A name not listed is a warning, never an error: a newer OBS may offer requests this list has
/// not caught up with, and aiv sends whatever the workflow names. A test compares the list with
/// the `availableRequests` the OBS Studio used in CI reports.
enum OBSRequestTypes {
    static let known: Set<String> = [
        // General
        "GetVersion", "GetStats", "BroadcastCustomEvent", "CallVendorRequest", "GetHotkeyList", "TriggerHotkeyByName",
        "TriggerHotkeyByKeySequence", "Sleep",
        // Config
        "GetPersistentData", "SetPersistentData", "GetSceneCollectionList", "SetCurrentSceneCollection", "CreateSceneCollection",
        "GetProfileList", "SetCurrentProfile", "CreateProfile", "RemoveProfile", "GetProfileParameter", "SetProfileParameter",
        "GetVideoSettings", "SetVideoSettings", "GetStreamServiceSettings", "SetStreamServiceSettings", "GetRecordDirectory",
        "SetRecordDirectory",
        // Sources
        "GetSourceActive", "GetSourceScreenshot", "SaveSourceScreenshot", "GetSourcePrivateSettings", "SetSourcePrivateSettings",
        // Scenes
        "GetSceneList", "GetGroupList", "GetCurrentProgramScene", "SetCurrentProgramScene", "GetCurrentPreviewScene",
        "SetCurrentPreviewScene", "CreateScene", "RemoveScene", "SetSceneName", "GetSceneSceneTransitionOverride",
        "SetSceneSceneTransitionOverride",
        // Inputs
        "GetInputList", "GetInputKindList", "GetSpecialInputs", "CreateInput", "RemoveInput", "SetInputName",
        "GetInputDefaultSettings", "GetInputSettings", "SetInputSettings", "GetInputMute", "SetInputMute", "ToggleInputMute",
        "GetInputVolume", "SetInputVolume", "GetInputAudioBalance", "SetInputAudioBalance", "GetInputAudioSyncOffset",
        "SetInputAudioSyncOffset", "GetInputAudioMonitorType", "SetInputAudioMonitorType", "GetInputAudioTracks",
        "SetInputAudioTracks", "GetInputDeinterlaceMode", "SetInputDeinterlaceMode", "GetInputDeinterlaceFieldOrder",
        "SetInputDeinterlaceFieldOrder", "GetInputPropertiesListPropertyItems", "PressInputPropertiesButton",
        // Transitions
        "GetTransitionKindList", "GetSceneTransitionList", "GetCurrentSceneTransition", "SetCurrentSceneTransition",
        "SetCurrentSceneTransitionDuration", "SetCurrentSceneTransitionSettings", "GetCurrentSceneTransitionCursor",
        "TriggerStudioModeTransition", "SetTBarPosition",
        // Filters
        "GetSourceFilterKindList", "GetSourceFilterList", "GetSourceFilterDefaultSettings", "CreateSourceFilter",
        "RemoveSourceFilter", "SetSourceFilterName", "GetSourceFilter", "SetSourceFilterIndex", "SetSourceFilterSettings",
        "SetSourceFilterEnabled",
        // Scene items
        "GetSceneItemList", "GetGroupSceneItemList", "GetSceneItemId", "GetSceneItemSource", "CreateSceneItem", "RemoveSceneItem",
        "DuplicateSceneItem", "GetSceneItemTransform", "SetSceneItemTransform", "GetSceneItemEnabled", "SetSceneItemEnabled",
        "GetSceneItemLocked", "SetSceneItemLocked", "GetSceneItemIndex", "SetSceneItemIndex", "GetSceneItemBlendMode",
        "SetSceneItemBlendMode", "GetSceneItemPrivateSettings", "SetSceneItemPrivateSettings",
        // Outputs
        "GetVirtualCamStatus", "ToggleVirtualCam", "StartVirtualCam", "StopVirtualCam", "GetReplayBufferStatus",
        "ToggleReplayBuffer", "StartReplayBuffer", "StopReplayBuffer", "SaveReplayBuffer", "GetLastReplayBufferReplay",
        "GetOutputList", "GetOutputStatus", "ToggleOutput", "StartOutput", "StopOutput", "GetOutputSettings", "SetOutputSettings",
        // Stream
        "GetStreamStatus", "ToggleStream", "StartStream", "StopStream", "SendStreamCaption",
        // Record
        "GetRecordStatus", "ToggleRecord", "StartRecord", "StopRecord", "ToggleRecordPause", "PauseRecord", "ResumeRecord",
        "SplitRecordFile", "CreateRecordChapter",
        // Media inputs
        "GetMediaInputStatus", "SetMediaInputCursor", "OffsetMediaInputCursor", "TriggerMediaInputAction",
        // UI
        "GetStudioModeEnabled", "SetStudioModeEnabled", "OpenInputPropertiesDialog", "OpenInputFiltersDialog",
        "OpenInputInteractDialog", "GetMonitorList", "OpenVideoMixProjector", "OpenSourceProjector",
    ]

    /// A warning for a request type obs-websocket does not have, nil for a known one.
    static func problem(_ name: String, argument: String, at path: [JSONPathComponent] = []) -> LiteralProblem? {
        guard !known.contains(name) else { return nil }
        return LiteralProblem(argument, at: path, severity: .warning,
                              "names '\(name)', which is not an obs-websocket 5 request\(Suggestions.didYouMean(name, in: known.sorted())) (a request of a newer OBS is sent as written)")
    }
}
