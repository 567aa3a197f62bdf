"""The default stage playbooks (The Model's enablement: discovery questions, objection
handling, exit checklists that double as objective criteria). Plain data, read by the
``journey/0006_playbook`` data migration and by ``journey.playbook.install_playbook``.

Each entry: (stage key, kind, English, Japanese). ``customer`` covers every customer and
outcome stage (won, onboarding, active, renewed, expanded, churned)."""

from __future__ import annotations

QUESTION, OBJECTION, EXIT = "question", "objection", "exit"

PLAYBOOK: list[tuple[str, str, str, str]] = [
    # --- Lead (Marketing): a known person, not yet qualified -----------------------------------
    (
        "lead",
        QUESTION,
        "Which content or event brought them in, and what did they look at since?",
        "どのコンテンツ・イベントから流入し、その後どのページや資料を見ているか？",
    ),
    (
        "lead",
        QUESTION,
        "Does the company fit our target (industry, employee count, region)?",
        "企業は自社のターゲット（業種・従業員数・地域）に合致しているか？",
    ),
    (
        "lead",
        QUESTION,
        "Is this person a likely buyer, user or influencer — or a student, partner or competitor?",
        "この人物は購買担当・利用者・影響者か、それとも学生・パートナー・競合か？",
    ),
    (
        "lead",
        OBJECTION,
        "“We are only collecting information.” → Most of the buying process happens before sales: "
        "offer the next useful piece (case study, checklist) instead of a meeting.",
        "「情報収集しているだけです」→ 購買プロセスの大半は営業と話す前に進む。"
        "アポではなく、次に役立つ情報（事例・チェックリスト）を提供する。",
    ),
    (
        "lead",
        OBJECTION,
        "“Stop sending me mail.” → Respect it at once: withdraw consent and keep only what the "
        "person allows.",
        "「メールを送らないでほしい」→ 即座に尊重し、同意を撤回して本人が許可する範囲の接点に留める。",
    ),
    (
        "lead",
        EXIT,
        "Fit checked: company data complete (industry, size, country).",
        "フィット確認済み：企業情報（業種・規模・国）が揃っている",
    ),
    (
        "lead",
        EXIT,
        "Engagement shown: at least one high-intent touch (form, demo request, pricing page).",
        "エンゲージメントあり：高関心の行動（フォーム送信・デモ依頼・料金ページ閲覧）が1件以上",
    ),
    (
        "lead",
        EXIT,
        "Classified as now, later or never — nobody is discarded.",
        "今すぐ・いずれ・対象外のいずれかに分類した（リードを捨てない）",
    ),
    # --- MQL (Marketing → Inside Sales) -----------------------------------------------------------
    (
        "mql",
        QUESTION,
        "What triggered the MQL: which fit points and which recent touches?",
        "MQL化のきっかけは何か：どのフィット項目と、どの直近の行動か？",
    ),
    (
        "mql",
        QUESTION,
        "What does Inside Sales need to know to call today (interest, timing, context)?",
        "インサイドセールスが今日電話するために必要な情報（関心・時期・背景）は何か？",
    ),
    (
        "mql",
        OBJECTION,
        "“These leads are poor quality.” → Reject with a reason code, not in a chat: the reasons "
        "are measured and tune the MQL rule.",
        "「リードの質が低い」→ チャットではなく理由コード付きで差し戻す。"
        "理由は計測され、MQL判定ルールの改善に使われる。",
    ),
    (
        "mql",
        OBJECTION,
        "“Nobody followed up.” → The SLA clock is visible to both sides; escalate to the manager "
        "when it runs out.",
        "「誰もフォローしていない」→ SLAの残り時間は双方に見える。期限切れはマネージャーへエスカレーション。",
    ),
    (
        "mql",
        EXIT,
        "Handoff note written: why now, what they read, what to ask.",
        "引き継ぎメモを記入した：なぜ今か、何を見たか、何を聞くべきか",
    ),
    (
        "mql",
        EXIT,
        "Inside Sales accepted or rejected the handoff within the SLA.",
        "インサイドセールスがSLA内にハンドオフを承認または差し戻した",
    ),
    # --- SAL (Inside Sales works the lead) --------------------------------------------------------
    (
        "sal",
        QUESTION,
        "What made you look into this now? What happens if nothing changes?",
        "なぜ今この検討を始めたのか？何も変えなかった場合、どうなるか？",
    ),
    (
        "sal",
        QUESTION,
        "How do you handle this today, and what does it cost you (time, errors, revenue)?",
        "現在どのように対応しているか、それにどれだけのコスト（時間・ミス・売上）がかかっているか？",
    ),
    (
        "sal",
        QUESTION,
        "Who else is involved in the decision, and who signs?",
        "意思決定に関わるのは誰か、最終決裁者は誰か？",
    ),
    (
        "sal",
        QUESTION,
        "Is there a budget or a time frame (fiscal year, project start)?",
        "予算や導入時期（年度・プロジェクト開始）は決まっているか？",
    ),
    (
        "sal",
        OBJECTION,
        "“We have no budget.” → Ask when the next budget is set and what it would need to show; "
        "plan the timing, don’t drop the lead.",
        "「予算がない」→ 次の予算策定はいつか、何を示せば予算化できるかを聞き、時期を計画する（リードを捨てない）。",
    ),
    (
        "sal",
        OBJECTION,
        "“We already use another tool.” → Ask what works and what doesn’t; the biggest competitor "
        "is doing nothing, so quantify the cost of staying.",
        "「他のツールを使っている」→ 良い点と不満点を聞く。"
        "最大の競合は「何もしない」こと。現状維持のコストを数値化する。",
    ),
    (
        "sal",
        OBJECTION,
        "“Just send me material.” → Send it, and agree a 15-minute call to go through it.",
        "「資料だけ送って」→ 送付したうえで、内容を説明する15分の電話を約束する。",
    ),
    (
        "sal",
        EXIT,
        "Discovery call held and noted on the timeline.",
        "ヒアリング（初回コール）を実施し、タイムラインに記録した",
    ),
    (
        "sal",
        EXIT,
        "A real need confirmed, in the customer’s words.",
        "顧客自身の言葉で、具体的な課題・ニーズを確認した",
    ),
    (
        "sal",
        EXIT,
        "Decision maker and buying group identified.",
        "意思決定者と購買関与者を特定した",
    ),
    (
        "sal",
        EXIT,
        "Timing and budget range known.",
        "導入時期と予算規模を把握した",
    ),
    # --- SQL (Inside Sales → Field Sales) ---------------------------------------------------------
    (
        "sql",
        QUESTION,
        "Does the deal size and company size call for Field Sales, by the coverage rules?",
        "商談規模・企業規模はカバレッジ基準上、フィールドセールスの担当か？",
    ),
    (
        "sql",
        QUESTION,
        "What exactly was agreed for the first meeting (who, when, what they expect)?",
        "初回商談で何を合意したか（参加者・日時・先方の期待）？",
    ),
    (
        "sql",
        OBJECTION,
        "“This appointment is not ready.” → Reject with the reason; Inside Sales sees it and "
        "the acceptance rate is measured on both sides.",
        "「このアポは商談化の条件を満たしていない」→ 理由付きで差し戻す。"
        "インサイドセールスに理由が共有され、承認率は双方で計測される。",
    ),
    (
        "sql",
        EXIT,
        "Deal created with amount and expected close.",
        "金額と受注予定日を入れて商談を作成した",
    ),
    (
        "sql",
        EXIT,
        "Meeting booked with the decision maker or their delegate.",
        "意思決定者（またはその代理）との商談日程を確定した",
    ),
    (
        "sql",
        EXIT,
        "Handoff note covers need, buying group, timing and budget.",
        "引き継ぎメモに課題・購買関与者・時期・予算を記載した",
    ),
    # --- Opportunity (Field Sales) ----------------------------------------------------------------
    (
        "opportunity",
        QUESTION,
        "What business result will they measure us by, and by when?",
        "どのような事業成果で評価されるか、いつまでに必要か？",
    ),
    (
        "opportunity",
        QUESTION,
        "What does their decision process look like, step by step, until the contract?",
        "契約までの意思決定プロセス（承認ステップ・稟議）はどうなっているか？",
    ),
    (
        "opportunity",
        QUESTION,
        "Which alternatives are they weighing, including doing nothing?",
        "比較している選択肢は何か（「何もしない」を含む）？",
    ),
    (
        "opportunity",
        OBJECTION,
        "“It is too expensive.” → Go back to the cost of the problem and the value agreed; "
        "discount only against scope or commitment.",
        "「高すぎる」→ 課題のコストと合意した価値に立ち返る。値引きは範囲や契約期間と引き換えにのみ行う。",
    ),
    (
        "opportunity",
        OBJECTION,
        "“Not now, maybe next year.” → Ask what would change by then; if nothing, the cost of "
        "waiting is the argument. Record “no decision” as the loss reason if it ends here.",
        "「今期は見送り、来年に」→ それまでに何が変わるかを聞く。何も変わらないなら待つコストが論点。"
        "ここで終わる場合は失注理由を「意思決定なし」とする。",
    ),
    (
        "opportunity",
        OBJECTION,
        "“Your competitor offered more.” → Compare on their criteria, not on features; bring a "
        "reference customer of their size.",
        "「競合の方が機能が多い」→ 機能数ではなく顧客の評価基準で比較し、同規模の導入事例を紹介する。",
    ),
    (
        "opportunity",
        EXIT,
        "Proposal presented to the decision maker.",
        "意思決定者に提案を実施した",
    ),
    (
        "opportunity",
        EXIT,
        "Success criteria for onboarding agreed and written down.",
        "導入後の成功基準を合意し、書面化した",
    ),
    (
        "opportunity",
        EXIT,
        "Contract terms and signing date agreed.",
        "契約条件と締結日を合意した",
    ),
    (
        "opportunity",
        EXIT,
        "Customer Success briefed before signing (goals, stakeholders, promises made).",
        "契約前にカスタマーサクセスへ共有した（目標・関係者・約束事項）",
    ),
    # --- Customer (Customer Success: won, onboarding, active, renewal) -----------------------------
    (
        "customer",
        QUESTION,
        "What did they buy us for, and how will they know it works?",
        "何のために導入したのか、成果をどのように判断するのか？",
    ),
    (
        "customer",
        QUESTION,
        "Who uses the product every day, and who owns it on their side?",
        "日常的に使うのは誰か、先方の推進責任者は誰か？",
    ),
    (
        "customer",
        QUESTION,
        "Would you recommend us to a colleague? Why, or why not? (NPS)",
        "同僚や知人に薦めたいと思うか？その理由は？（NPS）",
    ),
    (
        "customer",
        OBJECTION,
        "“We don’t have time to roll it out.” → Shrink the first step to one team and one use "
        "case with a date; show value before expanding.",
        "「導入・定着に時間を割けない」→ 最初の範囲を1チーム・1用途に絞って期日を決め、価値を示してから広げる。",
    ),
    (
        "customer",
        OBJECTION,
        "“We are thinking of cancelling.” → Ask what was promised and not delivered; bring the "
        "success criteria and usage data, and involve Field Sales if the scope was wrong.",
        "「解約を検討している」→ 約束して届けられていないことを聞く。成功基準と利用データを示し、"
        "範囲が合っていなければフィールドセールスも巻き込む。",
    ),
    (
        "customer",
        EXIT,
        "Kickoff held with the customer’s owner; goals confirmed.",
        "先方の推進責任者とキックオフを実施し、目標を確認した",
    ),
    (
        "customer",
        EXIT,
        "First value reached (the agreed first use case is live).",
        "最初の成果を達成した（合意した最初の用途が稼働している）",
    ),
    (
        "customer",
        EXIT,
        "Health reviewed: usage, support tickets and NPS.",
        "ヘルスを確認した：利用状況・問い合わせ・NPS",
    ),
    (
        "customer",
        EXIT,
        "Renewal or expansion discussed ahead of the contract end.",
        "契約終了前に更新・アップセルについて協議した",
    ),
]
