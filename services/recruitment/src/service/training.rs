//! Information meetings and training courses (sessions, enrolment, attendance).
//!
//! The office's work: it holds the meetings and courses, enrols cases (before
//! approval) and approved homes (further training) and records who attended.
//! A case's training progress is its attendance in the basic courses it is
//! enrolled in (`store::courses::of_member`), which the pipeline's training
//! requirement reads (`domain::training::training_missing`).

use super::office::office;
use super::{R, Recruitment};
use crate::domain::RecruitmentError;
use crate::domain::pipeline::attend_info_meeting;
use crate::domain::text::id;
use crate::domain::training::{self, Who};
use crate::store;
use samling_kit::auth::AuthContext;
use samling_kit::dates;
use samling_kit::ids::new_id_string;
use samling_kit::paging::Page;
use samling_kit::service::Service;
use samling_proto::recruitment::v1::*;
use serde_json::json;

fn date_filter(field: &str, d: Option<&samling_proto::common::v1::Date>) -> R<String> {
    Ok(dates::opt_from_proto(field, d)?
        .map(dates::date_text)
        .unwrap_or_default())
}

impl Recruitment {
    pub async fn create_info_meeting(
        &self,
        ctx: &AuthContext,
        req: CreateInfoMeetingRequest,
    ) -> R<InfoMeeting> {
        office(ctx, "hold information meetings")?;
        let municipality = self.in_region("municipality_code", &req.municipality_code)?;
        let meeting = InfoMeeting {
            id: new_id_string(),
            version: 1,
            region_id: self.region_id_of(municipality),
            municipality_code: municipality.as_str().to_string(),
            held_on: req.held_on,
            format: req.format,
            place: req.place.trim().to_string(),
            capacity: req.capacity,
            attended_case_ids: vec![],
            created_at: self.now_text(),
        };
        training::check_meeting(&meeting)?;
        let tx = self
            .core()
            .begin(ctx, "CreateInfoMeeting", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        store::meetings::save(tx.conn(), &meeting, true).await?;
        self.core()
            .record(
                &mut tx,
                ctx,
                "info_meeting_created",
                "info_meeting",
                &meeting.id,
                json!({"info_meeting_id": meeting.id, "municipality_code": meeting.municipality_code}),
            )
            .await?;
        tx.finish(self, ctx, meeting).await
    }

    pub async fn list_info_meetings(
        &self,
        ctx: &AuthContext,
        req: ListInfoMeetingsRequest,
    ) -> R<ListInfoMeetingsResponse> {
        office(ctx, "list information meetings")?;
        let page = Page::from_request(req.page.as_ref())?;
        let from = date_filter("from", req.from.as_ref())?;
        let to = date_filter("to", req.to.as_ref())?;
        let rows = store::meetings::list(
            &self.store.read,
            req.municipality_code.trim(),
            &from,
            &to,
            &page,
        )
        .await?;
        let (meetings, page) = page.finish(rows, |m| m.id.clone());
        Ok(ListInfoMeetingsResponse {
            meetings,
            page: Some(page),
        })
    }

    /// The households that attended, recorded on the meeting and on each
    /// case (the standard track's information-meeting requirement).
    pub async fn record_info_meeting_attendance(
        &self,
        ctx: &AuthContext,
        req: RecordInfoMeetingAttendanceRequest,
    ) -> R<InfoMeeting> {
        office(ctx, "record attendance")?;
        let meeting_id = id("meeting_id", &req.meeting_id)?;
        let tx = self
            .core()
            .begin(ctx, "RecordInfoMeetingAttendance", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let meeting = store::meetings::must_get(tx.conn(), &meeting_id).await?;
        let mut m = training::record_meeting_attendance(&meeting, &req.case_ids, self.today())?;
        let now = self.now_text();
        let mut changed = Vec::new();
        for case_id in &m.attended_case_ids {
            if meeting.attended_case_ids.contains(case_id) {
                continue;
            }
            let case = store::cases::get(tx.conn(), case_id)
                .await?
                .ok_or_else(|| {
                    RecruitmentError::invalid("case_ids", format!("case {case_id} not found"))
                })?;
            let mut c = attend_info_meeting(&case, &m.id)?;
            c.version += 1;
            c.updated_at = now.clone();
            store::cases::save(tx.conn(), &c, false).await?;
            changed.push(c.id);
        }
        m.version += 1;
        store::meetings::save(tx.conn(), &m, false).await?;
        self.core()
            .record(
                &mut tx,
                ctx,
                "info_meeting_attended",
                "info_meeting",
                &m.id,
                json!({"info_meeting_id": m.id, "case_ids": changed}),
            )
            .await?;
        tx.finish(self, ctx, m).await
    }

    pub async fn create_course(&self, ctx: &AuthContext, req: CreateCourseRequest) -> R<Course> {
        office(ctx, "create courses")?;
        let (name, kind) = training::check_course(&req.name, req.kind, &req.municipality_code)?;
        let municipality = if req.municipality_code.trim().is_empty() {
            String::new()
        } else {
            self.in_region("municipality_code", &req.municipality_code)?
                .as_str()
                .to_string()
        };
        let course = Course {
            id: new_id_string(),
            version: 1,
            name,
            kind: kind as i32,
            region_id: self
                .region
                .as_ref()
                .map(|r| r.to_string())
                .unwrap_or_default(),
            municipality_code: municipality,
            sessions: vec![],
            participants: vec![],
            created_at: self.now_text(),
        };
        let tx = self
            .core()
            .begin(ctx, "CreateCourse", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        store::courses::save(tx.conn(), &course, true).await?;
        self.core()
            .record(
                &mut tx,
                ctx,
                "course_created",
                "course",
                &course.id,
                json!({"course_id": course.id, "kind": kind.as_str_name()}),
            )
            .await?;
        tx.finish(self, ctx, course).await
    }

    pub async fn get_course(&self, ctx: &AuthContext, req: GetCourseRequest) -> R<Course> {
        office(ctx, "read courses")?;
        let course_id = id("course_id", &req.course_id)?;
        store::courses::must_get(&self.store.read, &course_id).await
    }

    pub async fn list_courses(
        &self,
        ctx: &AuthContext,
        req: ListCoursesRequest,
    ) -> R<ListCoursesResponse> {
        office(ctx, "list courses")?;
        let page = Page::from_request(req.page.as_ref())?;
        let kind = CourseKind::try_from(req.kind)
            .map_err(|_| RecruitmentError::invalid("kind", "is not a course kind"))?;
        let rows =
            store::courses::list(&self.store.read, kind, req.municipality_code.trim(), &page)
                .await?;
        let (courses, page) = page.finish(rows, |c| c.id.clone());
        Ok(ListCoursesResponse {
            courses,
            page: Some(page),
        })
    }

    pub async fn add_course_session(
        &self,
        ctx: &AuthContext,
        req: AddCourseSessionRequest,
    ) -> R<Course> {
        office(ctx, "plan course sessions")?;
        let course_id = id("course_id", &req.course_id)?;
        dates::from_proto("held_on", req.held_on.as_ref())?;
        let tx = self
            .core()
            .begin(ctx, "AddCourseSession", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let course = store::courses::must_get(tx.conn(), &course_id).await?;
        let session = CourseSession {
            id: new_id_string(),
            number: req.number,
            held_on: req.held_on,
            mandatory: req.mandatory,
            topic: req.topic.clone(),
            attendance: vec![],
        };
        let mut c = training::add_session(&course, session)?;
        c.version += 1;
        store::courses::save(tx.conn(), &c, false).await?;
        self.core()
            .record(
                &mut tx,
                ctx,
                "course_session_added",
                "course",
                &c.id,
                json!({"course_id": c.id, "number": req.number}),
            )
            .await?;
        tx.finish(self, ctx, c).await
    }

    /// A case (open, before approval) or an approved home (further
    /// training); the same courses for municipal and agency homes.
    pub async fn enrol_in_course(&self, ctx: &AuthContext, req: EnrolInCourseRequest) -> R<Course> {
        office(ctx, "enrol in courses")?;
        let course_id = id("course_id", &req.course_id)?;
        let who = Who::from_ids(&req.case_id, &req.home_id)?;
        let tx = self
            .core()
            .begin(ctx, "EnrolInCourse", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let course = store::courses::must_get(tx.conn(), &course_id).await?;
        let member = match &who {
            Who::Case(case_id) => {
                let case = store::cases::get(tx.conn(), case_id)
                    .await?
                    .ok_or_else(|| RecruitmentError::not_found(format!("case {case_id}")))?;
                if case.status() != CaseStatus::Open {
                    return Err(RecruitmentError::precondition(
                        "case_id: only an open case is enrolled (an approved home enrols by home_id)",
                    ));
                }
                case.id
            }
            Who::Home(home_id) => home_id.clone(),
        };
        let mut c = training::enrol(&course, &who, self.today())?;
        c.version += 1;
        store::courses::save(tx.conn(), &c, false).await?;
        store::courses::add_member(tx.conn(), &c.id, &member).await?;
        let (case_id, home_id) = match &who {
            Who::Case(x) => (x.as_str(), ""),
            Who::Home(x) => ("", x.as_str()),
        };
        self.core()
            .record(
                &mut tx,
                ctx,
                "course_enrolled",
                "course",
                &c.id,
                json!({"course_id": c.id, "case_id": case_id, "home_id": home_id}),
            )
            .await?;
        tx.finish(self, ctx, c).await
    }

    /// Who of an enrolled case's household (or an approved home's members)
    /// attended a session: replaces what was recorded for them. For a case
    /// the attendees are its household adults; a home's members are the
    /// registry's, named by id (not checked against the registry here).
    pub async fn record_attendance(
        &self,
        ctx: &AuthContext,
        req: RecordAttendanceRequest,
    ) -> R<Course> {
        office(ctx, "record attendance")?;
        let course_id = id("course_id", &req.course_id)?;
        let who = Who::from_ids(&req.case_id, &req.home_id)?;
        let tx = self
            .core()
            .begin(ctx, "RecordAttendance", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let course = store::courses::must_get(tx.conn(), &course_id).await?;
        let household: Vec<String> = match &who {
            Who::Case(case_id) => store::cases::get(tx.conn(), case_id)
                .await?
                .ok_or_else(|| RecruitmentError::not_found(format!("case {case_id}")))?
                .adults
                .iter()
                .map(|a| a.id.clone())
                .collect(),
            Who::Home(_) => req
                .attendee_ids
                .iter()
                .map(|a| a.trim().to_ascii_lowercase())
                .collect(),
        };
        let mut c = training::record_attendance(
            &course,
            &req.session_id,
            &who,
            &req.attendee_ids,
            &household,
            self.today(),
        )?;
        c.version += 1;
        store::courses::save(tx.conn(), &c, false).await?;
        let (case_id, home_id) = match &who {
            Who::Case(x) => (x.as_str(), ""),
            Who::Home(x) => ("", x.as_str()),
        };
        self.core()
            .record(
                &mut tx,
                ctx,
                "course_attendance_recorded",
                "course",
                &c.id,
                json!({"course_id": c.id, "session_id": req.session_id.trim(), "case_id": case_id, "home_id": home_id}),
            )
            .await?;
        tx.finish(self, ctx, c).await
    }

    /// What training a case still needs (empty when done): the pipeline's
    /// training requirement over the courses the case is enrolled in.
    pub async fn training_missing(&self, case: &Case) -> R<Vec<String>> {
        let courses = store::courses::of_member(&self.store.read, &case.id).await?;
        Ok(training::training_missing(case, &courses))
    }

    /// The region id of a municipality (this office's region when bound).
    pub(crate) fn region_id_of(&self, m: samling_kit::reference::MunicipalityCode) -> String {
        self.regions.region_of(m).to_string()
    }
}
