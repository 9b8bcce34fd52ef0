// The tables as both backends see them. Kept by hand: the SQL types are the
// subset that diesel's MultiConnection shares.

diesel::table! {
    surveys (id) {
        id -> Integer,
        slug -> Text,
        title_ru -> Text,
        title_en -> Text,
        description_ru -> Text,
        description_en -> Text,
        default_lang -> Text,
        timezone -> Text,
        status -> Text,
        access -> Text,
        synthetic -> Bool,
        created_at -> Timestamp,
        targets_source -> Nullable<Text>,
        data_version -> BigInt,
        aggregates_ok -> Bool,
        public_changes -> BigInt,
    }
}

diesel::table! {
    data_versions (survey_id, slot) {
        survey_id -> Integer,
        slot -> Integer,
        version -> BigInt,
    }
}

diesel::table! {
    compactions (survey_id) {
        survey_id -> Integer,
        through_day -> Integer,
    }
}

diesel::table! {
    questions (id) {
        id -> Integer,
        survey_id -> Integer,
        position -> Integer,
        code -> Text,
        kind -> Text,
        role -> Text,
        required -> Bool,
        prompt_ru -> Text,
        prompt_en -> Text,
        max_length -> Nullable<Integer>,
        retired -> Bool,
    }
}

diesel::table! {
    scales (question_id) {
        question_id -> Integer,
        min_value -> Integer,
        max_value -> Integer,
        positive_values -> Nullable<Text>,
        negative_values -> Nullable<Text>,
        low_ru -> Text,
        low_en -> Text,
        high_ru -> Text,
        high_en -> Text,
    }
}

diesel::table! {
    options (id) {
        id -> Integer,
        question_id -> Integer,
        position -> Integer,
        code -> Text,
        label_ru -> Text,
        label_en -> Text,
        value -> Nullable<Double>,
        non_substantive -> Bool,
        exclusive -> Bool,
    }
}

diesel::table! {
    waves (id) {
        id -> Integer,
        survey_id -> Integer,
        label -> Text,
        opens -> Date,
        closes -> Date,
    }
}

diesel::table! {
    events (id) {
        id -> Integer,
        event_date -> Date,
        label_ru -> Text,
        label_en -> Text,
        source_url -> Nullable<Text>,
    }
}

diesel::table! {
    responses (id) {
        id -> Text,
        survey_id -> Integer,
        wave_id -> Nullable<Integer>,
        submitted_date -> Date,
        lang -> Text,
        submission_id -> Nullable<Text>,
        base_weight -> Double,
        answers -> Text,
        record_key -> BigInt,
    }
}

diesel::joinable!(questions -> surveys (survey_id));
diesel::joinable!(options -> questions (question_id));
diesel::joinable!(scales -> questions (question_id));
diesel::joinable!(waves -> surveys (survey_id));
diesel::joinable!(responses -> surveys (survey_id));
diesel::joinable!(responses -> waves (wave_id));

diesel::table! {
    api_tokens (id) {
        id -> Integer,
        lookup_key -> Text,
        secret_hash -> Text,
        role -> Text,
        label -> Text,
        created_on -> Date,
        last_used_on -> Nullable<Date>,
    }
}

diesel::table! {
    invitations (id) {
        id -> Integer,
        survey_id -> Integer,
        wave_id -> Nullable<Integer>,
        code_hash -> Text,
        spent -> Bool,
    }
}

diesel::table! {
    targets (survey_id, dimension, option_code) {
        survey_id -> Integer,
        dimension -> Text,
        option_code -> Text,
        share -> Double,
    }
}

diesel::table! {
    secrets (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::joinable!(invitations -> surveys (survey_id));
diesel::joinable!(targets -> surveys (survey_id));
diesel::joinable!(data_versions -> surveys (survey_id));
diesel::joinable!(compactions -> surveys (survey_id));

diesel::table! {
    agg_pieces (survey_id, question, week_start, month_start, wave_id, cell) {
        survey_id -> Integer,
        week_start -> Integer,
        month_start -> Integer,
        wave_id -> Integer,
        cell -> Text,
        question -> Text,
        sums -> Text,
    }
}

diesel::table! {
    agg_days (survey_id, day, wave_id, cell) {
        survey_id -> Integer,
        day -> Integer,
        wave_id -> Integer,
        cell -> Text,
        sums -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    surveys,
    questions,
    scales,
    options,
    waves,
    events,
    responses,
    api_tokens,
    invitations,
    targets,
    secrets,
    agg_pieces,
    agg_days,
    data_versions,
    compactions,
);
